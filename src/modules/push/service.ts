import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import { jobIdFor, type JobQueue } from '../../platform/queue-port.ts'
import type { Resolver } from '../../lib/outbound-target.ts'
import { SEND_JOB, type SendJob, type Urgency } from './delivery.ts'
import { pushErrors } from './errors.ts'
import { encodePayload, type PushPayload } from './payload.ts'
import type { PushRepository } from './repository.ts'
import type { CreatePushSubscription, PushSubscription } from './schemas.ts'
import { checkEndpoint, checkKeys, type EndpointPolicy } from './subscription-rules.ts'
import type { VapidKeyStore } from './vapid-keys.ts'
import { toPushSubscription } from './view.ts'

/** PushServiceDeps are what the push service is built from. */
export interface PushServiceDeps {
  db: Database
  repo: PushRepository
  queue: JobQueue
  vapid: VapidKeyStore
  policy: EndpointPolicy
  resolve: () => Resolver
  maxPerUser: number
}

/** createPushService manages users' Web Push subscriptions and queues messages to them. */
export function createPushService ({ db, repo, queue, vapid, policy, resolve, maxPerUser }: PushServiceDeps) {
  return {
    /** vapidPublicKey is the key browsers subscribe with (made at first need, the same on every node). */
    async vapidPublicKey (): Promise<{ publicKey: string }> {
      return { publicKey: (await vapid.keys()).publicKey }
    },

    /** subscribe stores the caller's browser subscription, or refreshes it when the endpoint is already theirs. */
    async subscribe (actor: Actor, input: CreatePushSubscription): Promise<{ subscription: PushSubscription, created: boolean }> {
      checkKeys(input.keys)
      const url = await checkEndpoint(input.endpoint, policy, resolve())
      const endpoint = url.href
      return db.transaction(async (tx) => {
        await repo.lockUser(tx, actor.userId)
        const existing = await repo.findByEndpoint(tx, actor.userId, endpoint)
        if (!existing && await repo.countForUser(tx, actor.userId) >= maxPerUser) throw pushErrors.PUSH_SUBSCRIPTION_LIMIT()
        const row = await repo.upsert(tx, { userId: actor.userId, endpoint, p256dh: input.keys.p256dh, auth: input.keys.auth, deviceName: input.deviceName ?? null })
        return { subscription: toPushSubscription(row), created: !existing }
      })
    },

    /** list gives the caller's subscriptions, newest first. */
    async list (actor: Actor): Promise<{ items: PushSubscription[] }> {
      return { items: (await repo.listForUser(actor.userId)).map(toPushSubscription) }
    },

    /** remove deletes one of the caller's subscriptions; another user's is "not found". */
    async remove (actor: Actor, id: string): Promise<void> {
      if (!await repo.removeOwned(actor.userId, id)) throw pushErrors.PUSH_SUBSCRIPTION_NOT_FOUND()
    },

    /**
     * sendToUser queues one `push.send` job per subscription of the user and returns how many.
     * The job id is derived from (subscription, payload id), so sending the same notification
     * twice (a retried caller) queues it once.
     */
    async sendToUser (userId: string, payload: PushPayload, options: { urgency?: Urgency } = {}): Promise<number> {
      const json = encodePayload(payload)
      const subscriptions = await repo.listForUser(userId)
      for (const s of subscriptions) {
        const data: SendJob = { subscriptionId: s.id, payload: json, topicKey: payload.id, urgency: options.urgency ?? 'normal' }
        await queue.send(SEND_JOB, data, { id: jobIdFor(SEND_JOB, `${s.id}\n${payload.id}`) })
      }
      return subscriptions.length
    }
  }
}

/** PushService is the push module's service type. */
export type PushService = ReturnType<typeof createPushService>
