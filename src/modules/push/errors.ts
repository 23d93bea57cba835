import { defineErrors, type AppError } from '../../platform/errors.ts'

/** pushErrors are the push module's codes; another user's subscription is "not found", like a missing one. */
export const pushErrors = defineErrors({
  PUSH_SUBSCRIPTION_NOT_FOUND: [404, 'Push subscription not found'],
  PUSH_SUBSCRIPTION_LIMIT: [409, 'You hold the maximum number of push subscriptions; delete one first'],
  PUSH_SUBSCRIPTION_INVALID: [400, 'The push subscription is not valid']
})

/** invalidSubscription is the 400 for a subscription field that fails a rule the schema cannot state (key bytes, endpoint policy). */
export function invalidSubscription (path: 'endpoint' | 'keys.p256dh' | 'keys.auth', reason: string): AppError {
  return pushErrors.PUSH_SUBSCRIPTION_INVALID(`${path} ${reason}`, { fields: [{ path: `body.${path}`, message: reason }] })
}
