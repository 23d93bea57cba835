/** userPermissions are the admin permissions over accounts; self-service routes need only a signed-in user. */
export const userPermissions = { user: ['read', 'manage'] } as const
