/** adminPermissions: the job queue's operations view, dead-letter retries the detailed health view and the effective settings are for admins only (no role is granted them by default). */
export const adminPermissions = { queue: ['read', 'manage'], health: ['read'], settings: ['read'] } as const
