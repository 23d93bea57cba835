/** userPermissions are the admin permissions over accounts; self-service routes need only a signed-in user. */
export const userPermissions = { user: ['read', 'manage'] } as const

/** USER_READ lets its holder read any user (admins): it opens every `user:<id>` realtime channel. */
export const USER_READ = 'user:read'
