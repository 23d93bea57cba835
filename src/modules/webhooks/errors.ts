import { defineErrors, type AppError } from '../../platform/errors.ts'

/** webhookErrors are the webhooks module's codes; an endpoint of a project the caller cannot see is "not found", like a missing one. */
export const webhookErrors = defineErrors({
  WEBHOOK_NOT_FOUND: [404, 'Webhook not found'],
  WEBHOOK_DELIVERY_NOT_FOUND: [404, 'Webhook delivery not found'],
  WEBHOOK_LIMIT: [409, 'This project holds the maximum number of webhooks; delete one first'],
  WEBHOOK_DISABLED: [409, 'This webhook is disabled; enable it first'],
  WEBHOOK_DELIVERY_IN_FLIGHT: [409, 'An attempt of this delivery is in flight; try again when it has finished'],
  WEBHOOK_PROJECT_GONE: [404, 'The project was deleted'],
  WEBHOOK_URL_REFUSED: [400, 'The webhook URL is refused by the target policy']
})

/** invalidUrl is the 400 for a URL the target policy refuses, naming the field and the reason. */
export function invalidUrl (reason: string): AppError {
  return webhookErrors.WEBHOOK_URL_REFUSED(`url ${reason}`, { fields: [{ path: 'body.url', message: reason }] })
}
