import type { NotificationType } from '../notifications/index.ts'

/** apiKeyNotificationTypes are the api-keys module's notification types: my API key expires soon. */
export function apiKeyNotificationTypes (): NotificationType[] {
  return [{
    type: 'api_key.expiring',
    description: 'One of your API keys expires soon',
    on: 'api_key.expiring',
    defaults: { email: true, push: false },
    async recipients (event) {
      const { id, userId, name, prefix, expiresAt } = event.data
      if (typeof id !== 'string' || typeof userId !== 'string' || typeof expiresAt !== 'string') return []
      return [{
        userId,
        title: `Your API key ${String(name)} expires soon`,
        body: `The API key ${String(name)} (bp_${String(prefix)}…) expires at ${expiresAt}. Create a new one and switch to it before then.`,
        link: '/account/api-keys'
      }]
    }
  }]
}
