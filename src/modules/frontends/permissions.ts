import type { Rbac } from '../../platform/rbac.ts'

/**
 * defineFrontendPermissions declares `frontend:manage`: registering frontends changes the CORS
 * allow-list of every node, so only admins (who hold every permission) have it.
 */
export function defineFrontendPermissions (rbac: Rbac): void {
  rbac.define({ frontend: ['manage'] })
}
