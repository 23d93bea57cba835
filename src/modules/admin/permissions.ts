/** adminPermissions: the job queue's operations view, dead-letter retries and the detailed health view are for admins only (no role is granted them by default). */
export const adminPermissions = { queue: ['read', 'manage'], health: ['read'] } as const
