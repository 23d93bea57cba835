import type { NotificationChannel } from '../notifications/index.ts'
import type { PushService } from './service.ts'

/**
 * pushChannel is the notifications module's 'push' channel: each notification becomes one
 * `push.send` job per subscription of its user. Queueing is idempotent per (subscription,
 * notification), so a channel job retried after a partial run queues nothing twice.
 */
export function pushChannel (push: Pick<PushService, 'sendToUser'>): NotificationChannel {
  return {
    name: 'push',
    async deliver (items) {
      for (const item of items) {
        await push.sendToUser(item.userId, { id: item.id, type: item.type, title: item.title, body: item.body, link: item.link })
      }
    }
  }
}
