import type { PushService } from './service.ts'

// contract: replaced by the notifications module's export at merge
/** NotificationDelivery is one notification as a delivery channel receives it (after the inbox row committed). */
export interface NotificationDelivery {
  id: string
  userId: string
  type: string
  title: string
  body: string
  link: string | null
  createdAt: string
}

// contract: replaced by the notifications module's export at merge
/** NotificationChannel is a delivery channel other than the inbox itself (email is built in; push plugs in). */
export interface NotificationChannel {
  name: string
  /** deliver is called from a queue job, after commit, with the notifications this channel must send (preferences already applied); it throws to have the job retried. */
  deliver: (items: readonly NotificationDelivery[]) => Promise<void>
}

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
