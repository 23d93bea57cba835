import type { Rbac } from '../../platform/rbac.ts'

/**
 * defineFilePermissions declares the file actions, both held by the built-in user role: the owner's
 * rules decide the rest (a project's viewers read its files, editors upload and delete), checked in
 * the service. Agents upload artifacts with `agent:work`, while they hold the run.
 */
export function defineFilePermissions (rbac: Rbac): void {
  rbac.define({ file: ['read', 'write'] }, ['file:read', 'file:write'])
}
