import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../../platform/db.ts'
import type { Events, PublishedEvent } from '../../platform/events.ts'
import type { JobQueue } from '../../platform/queue-port.ts'
import type { NotificationChannel } from './channels.ts'
import { EMAIL } from './email.ts'
import type { NotificationsRepository } from './repository.ts'
import type { NotificationType, TypeRegistry } from './types.ts'
import { toNotification } from './view.ts'

/** DELIVER_JOB sends one user's pending notifications on one channel (data: DeliverJob). */
export const DELIVER_JOB = 'notifications.deliver'

/** DeliverJob names whose deliveries, on which channel, a delivery job sends. */
export interface DeliverJob { userId: string, channel: string }

const LIMITS = { title: 200, body: 2000, link: 2000 }

/**
 * createIntake turns published events into notifications. It runs once per event in the relay's
 * transaction (app.events.onPublish), so an event makes its notifications exactly once and a
 * rolled-back relay pass makes none. Each notification records `notification.created` on its
 * user's channel (the realtime delivery) and the channel deliveries its user's preferences allow,
 * each channel's job sent in the same transaction (so it exists only once the rows committed).
 */
export function createIntake ({ repo, registry, channels, events, queue, digestSeconds, log }: {
  repo: NotificationsRepository
  registry: TypeRegistry
  channels: ReadonlyMap<string, NotificationChannel>
  events: Events
  queue: JobQueue
  digestSeconds: number
  log: FastifyBaseLogger
}) {
  async function enabledChannels (userId: string, type: string, defaults: Record<string, boolean>, tx: Database): Promise<string[]> {
    const chosen = new Map((await repo.preferences(userId, tx)).filter((p) => p.type === type).map((p) => [p.channel, p.enabled]))
    return [...channels.keys()].filter((name) => chosen.get(name) ?? defaults[name] ?? false)
  }

  async function notify (event: PublishedEvent, type: NotificationType, tx: Database): Promise<void> {
    for (const r of await type.recipients(event, tx)) {
      const row = await repo.insert({
        userId: r.userId,
        type: type.type,
        title: r.title.slice(0, LIMITS.title),
        body: r.body.slice(0, LIMITS.body),
        link: r.link?.slice(0, LIMITS.link) ?? null,
        eventId: event.id
      }, tx)
      if (!row) continue
      await events.record({ type: 'notification.created', aggregate: `notification:${row.id}`, channels: [`user:${row.userId}`], data: toNotification(row) }, tx)
      for (const channel of await enabledChannels(row.userId, type.type, type.defaults, tx)) {
        await repo.lock(row.userId, channel, tx)
        if (!await repo.addDelivery(row.id, row.userId, channel, tx)) continue
        // Email waits for others to join it in one digest; other channels go at once.
        const delay = channel === EMAIL ? digestSeconds : 0
        await queue.send<DeliverJob>(DELIVER_JOB, { userId: row.userId, channel }, delay > 0 ? { startAfter: new Date(Date.now() + delay * 1000) } : {}, tx)
      }
    }
  }

  return async function onPublish (event: PublishedEvent, tx: Database): Promise<void> {
    if (event.type.startsWith('notification.')) return
    for (const type of registry.forEvent(event.type)) {
      // Each rule in a savepoint: a rule that throws (a team module's bug) is logged and skipped for
      // this event, instead of failing the relay's pass and holding every later event back with it.
      try {
        await tx.transaction(async (savepoint) => { await notify(event, type, savepoint) })
      } catch (err) {
        log.error({ err, notificationType: type.type, eventId: event.id }, 'notification rule failed; no notification of this type for this event')
      }
    }
  }
}
