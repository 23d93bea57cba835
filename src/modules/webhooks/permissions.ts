import type { Rbac } from '../../platform/rbac.ts'

/**
 * defineWebhookPermissions declares the webhook actions, both held by the built-in user role: the
 * project role decides the rest (editors read endpoints and deliveries; owners create, change,
 * rotate, redeliver and delete, since an endpoint carries a signing secret), checked in the service.
 */
export function defineWebhookPermissions (rbac: Rbac): void {
  rbac.define({ webhook: ['read', 'write'] }, ['webhook:read', 'webhook:write'])
}
