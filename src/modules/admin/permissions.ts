/** adminPermissions: the job queue's operations view and dead-letter retries are for admins only (no role is granted them by default). */
export const adminPermissions = { queue: ['read', 'manage'] } as const
