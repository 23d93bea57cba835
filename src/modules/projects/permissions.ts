/**
 * projectPermissions are the project actions. `project:admin` is held only by the admin role (which
 * holds every permission): it sees and manages every project without being a member.
 */
export const projectPermissions = { project: ['create', 'read', 'update', 'delete', 'admin'] } as const

/** userProjectPermissions are what the built-in `user` role holds; membership roles decide the rest. */
export const userProjectPermissions = ['project:create', 'project:read', 'project:update', 'project:delete'] as const

/** PROJECT_ADMIN is the permission that bypasses membership. */
export const PROJECT_ADMIN = 'project:admin'
