import { defineErrors } from '../../platform/errors.ts'

/** notificationErrors are the notifications module's codes; another user's notification is "not found", like a missing one. */
export const notificationErrors = defineErrors({
  NOTIFICATION_NOT_FOUND: [404, 'Notification not found'],
  NOTIFICATION_TYPE_UNKNOWN: [400, 'No notification type of this name is declared'],
  NOTIFICATION_UNSUBSCRIBE_INVALID: [400, 'This unsubscribe link is not valid']
})
