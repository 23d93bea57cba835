import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { sendAttempt } from '../../lib/outbound-post.ts'
import type { Resolver } from '../../lib/outbound-target.ts'
import type { PushRepository } from './repository.ts'
import { targetPolicy, type EndpointPolicy } from './subscription-rules.ts'
import type { VapidKeyStore } from './vapid-keys.ts'
import { webPush } from './web-push.ts'

/** SEND_JOB is the queue job that sends one payload to one subscription. */
export const SEND_JOB = 'push.send'

/** Urgency is RFC 8030 §5.3's hint to the push service (a phone on battery may defer low ones). */
export type Urgency = 'very-low' | 'low' | 'normal' | 'high'

/** SendJob is one payload (already encoded JSON) on its way to one subscription. */
export interface SendJob { subscriptionId: string, payload: string, topicKey: string, urgency: Urgency }

/** PushSendError is a failed send worth retrying (no answer, 429, 5xx): the job throws it so the queue tries again. */
export class PushSendError extends Error {
  override name = 'PushSendError'
}

/** DeliverySettings are what one send needs besides the subscription. */
export interface DeliverySettings {
  repo: PushRepository
  vapid: VapidKeyStore
  subject: string
  policy: EndpointPolicy
  resolve: () => Resolver
  timeoutMs: number
  ttlSeconds: number
  log: FastifyBaseLogger
  /** onOutcome counts each send: accepted, gone (subscription deleted), retry (thrown for the queue), or refused (dropped). */
  onOutcome?: (outcome: SendOutcome) => void
}

/** SendOutcome is how one send ended. */
export type SendOutcome = 'sent' | 'gone' | 'retry' | 'refused'

// A Topic (RFC 8030 §5.4) makes the push service replace an undelivered message with the same
// one: a job retried after its first request was in fact accepted does not show twice.
const topicOf = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 32)

/**
 * createPushDelivery sends push jobs: encrypts the payload for the subscription (RFC 8291
 * aes128gcm), signs a VAPID JWT (RFC 8292), and POSTs through the same guarded sender as webhooks
 * (connect-time address checks, no redirects, one deadline). 404/410 delete the subscription;
 * 429, 5xx and no answer throw for a retry; any other refusal is logged and dropped.
 */
export function createPushDelivery (settings: DeliverySettings) {
  const { repo, log } = settings
  const count = (outcome: SendOutcome) => { settings.onOutcome?.(outcome) }
  return {
    async send (job: SendJob): Promise<void> {
      const subscription = await repo.get(job.subscriptionId)
      if (!subscription) return
      const keys = await settings.vapid.keys()
      const details = webPush().generateRequestDetails(
        { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
        job.payload,
        {
          vapidDetails: { subject: settings.subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
          TTL: settings.ttlSeconds,
          urgency: job.urgency,
          topic: topicOf(job.topicKey),
          contentEncoding: 'aes128gcm'
        }
      )
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(details.headers)) {
        if (name.toLowerCase() !== 'content-length') headers[name] = String(value)
      }
      const body = details.body ?? Buffer.alloc(0)
      const result = await sendAttempt(details.endpoint, headers, body, { timeoutMs: settings.timeoutMs, policy: targetPolicy(settings.policy), resolve: settings.resolve() })
      const status = result.statusCode
      const where = { subscriptionId: subscription.id, userId: subscription.userId, status }
      if (result.outcome === 'success') {
        count('sent')
        await repo.markSent(subscription.id)
        return
      }
      if (status === 404 || status === 410) {
        count('gone')
        await repo.removeGone(subscription.id, subscription.endpoint)
        log.info(where, 'push subscription removed: the push service no longer knows it')
        return
      }
      if (status === null || status === 429 || status >= 500) {
        count('retry')
        throw new PushSendError(result.error ?? `the push service answered ${status ?? 'nothing'}`)
      }
      // 400, 403 (a VAPID key the subscription was not made with), 413: sending again changes nothing.
      count('refused')
      log.warn({ ...where, error: result.error }, 'push message refused by the push service; not retried')
    }
  }
}
