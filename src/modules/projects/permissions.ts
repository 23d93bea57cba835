/**
 * projectPermissions are the project actions. `project:admin` is held only by the admin role (which
 * holds every permission): it sees and manages every project without being a member.
 */
export const projectPermissions = { project: ['create', 'read', 'update', 'delete', 'admin'] } as const

/** userProjectPermissions are what the built-in `user` role holds; membership roles decide the rest. */
export const userProjectPermissions = ['project:create', 'project:read', 'project:update', 'project:delete'] as const

/** PROJECT_UPDATE is the permission an owner needs to remove another member (members-service.ts). */
export const PROJECT_UPDATE = 'project:update'

/** PROJECT_READ is the permission to see projects at all (membership then decides which). */
export const PROJECT_READ = 'project:read'

/** PROJECT_ADMIN is the permission that bypasses membership. */
export const PROJECT_ADMIN = 'project:admin'
