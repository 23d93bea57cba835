/** auditPermissions: reading the audit trail is an admin permission (nothing may change it). */
export const auditPermissions = { audit: ['read'] } as const
