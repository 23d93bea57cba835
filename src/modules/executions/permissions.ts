import type { Rbac } from '../../platform/rbac.ts'

/**
 * executionPermissions are the execution actions. Users read and cancel the executions of their
 * projects (membership is checked in the service); `execution:admin` (admins only) sees every
 * execution, including those whose project was deleted.
 */
export const executionPermissions = { execution: ['read', 'cancel', 'admin'] } as const

/** userExecutionPermissions are what the built-in `user` role holds. */
export const userExecutionPermissions = ['execution:read', 'execution:cancel'] as const

/** EXECUTION_ADMIN is the permission that sees every execution without project membership. */
export const EXECUTION_ADMIN = 'execution:admin'

/** defineExecutionPermissions declares the execution permissions to the role table. */
export function defineExecutionPermissions (rbac: Rbac): void {
  rbac.define(executionPermissions, userExecutionPermissions)
}
