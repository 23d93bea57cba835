import type { Rbac } from '../../platform/rbac.ts'

/**
 * defineExecutionPermissions: users read and cancel the executions of their projects (membership is
 * checked in the service); `execution:admin` (admins only) sees every execution, including those
 * whose project was deleted.
 */
export function defineExecutionPermissions (rbac: Rbac): void {
  rbac.define({ execution: ['read', 'cancel', 'admin'] }, ['execution:read', 'execution:cancel'])
}
