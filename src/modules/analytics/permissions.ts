/** analyticsPermissions: the operators' figures are for admins only (no role is granted them by default). */
export const analyticsPermissions = { analytics: ['read'] } as const
