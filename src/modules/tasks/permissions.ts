import type { Rbac } from '../../platform/rbac.ts'

/**
 * defineTaskPermissions declares the task actions, all held by the built-in user role: the project
 * role decides the rest (viewers read; editors and owners write and run), checked in the service.
 */
export function defineTaskPermissions (rbac: Rbac): void {
  rbac.define({ task: ['read', 'write', 'run'] }, ['task:read', 'task:write', 'task:run'])
}
