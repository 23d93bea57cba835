import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../../platform/db.ts'
import type { JobQueue } from '../../platform/queue.ts'
import type { PublishedEvent } from '../../platform/events.ts'
import type { SecretBox } from '../../lib/secret-box.ts'
import { createDeliveriesRepository, type AttemptRecord } from './deliveries-repository.ts'
import type { EndpointBreakers } from './endpoint-breakers.ts'
import { createWebhooksRepository } from './repository.ts'
import { busyDelayMs, retryDelayMs } from './retry.ts'
import { sendAttempt, type AttemptResult } from '../../lib/outbound-post.ts'
import { signatureHeader } from './signature.ts'
import type { Resolver, TargetPolicy } from '../../lib/outbound-target.ts'
import type { WebhookRow } from './table.ts'

/** DELIVER_JOB is the queue job that makes one attempt of one delivery; its data is `{ deliveryId }`. */
export const DELIVER_JOB = 'webhooks.deliver'
/** USER_AGENT names Backplane to receivers. */
export const USER_AGENT = 'Backplane-Webhooks/1'

/** DispatcherSettings are the delivery figures (from the config) and the collaborators. */
export interface DispatcherSettings {
  db: Database
  queue: JobQueue
  box: SecretBox
  log: FastifyBaseLogger
  policy: TargetPolicy
  /** resolver is read at each attempt, so a test (or an operator's pinned resolver) can swap it. */
  resolver: () => Resolver
  timeoutMs: number
  retryDelaysMs: readonly number[]
  perEndpointConcurrency: number
  /** breakers hold back attempts to an endpoint that keeps failing (deferred, never spent). */
  breakers: EndpointBreakers
  onOutcome?: (outcome: string) => void
}

/** DeliveryJob is the data of a `webhooks.deliver` job. */
export interface DeliveryJob { deliveryId: string }

/** WebhookEvent is what a delivery carries: a published event, or a `webhook.test` one (no aggregate, no sequence). */
export type WebhookEvent = Pick<PublishedEvent, 'id' | 'type' | 'at' | 'data'> & Partial<Pick<PublishedEvent, 'aggregate' | 'position'>>

/**
 * payloadOf is the Standard Webhooks body of an event: its id, type and time, its aggregate (the
 * resource it is about, `execution:<id>`) and `sequence`, and its data. Deliveries are independent
 * (retries, several in flight per endpoint), so they can arrive out of order; the sequence is the
 * event's publication position, which grows with each event of an aggregate (the relay publishes
 * an aggregate's events in commit order), so a receiver applies an event only when its sequence
 * is above the last one it applied for that aggregate.
 */
export function payloadOf (event: WebhookEvent): string {
  const order = event.aggregate === undefined || event.position === undefined ? {} : { aggregate: event.aggregate, sequence: event.position }
  return JSON.stringify({ id: event.id, type: event.type, timestamp: event.at, ...order, data: event.data })
}

/**
 * createDispatcher turns published events into deliveries and runs their attempts. Every change
 * of a delivery's state and the job for its next attempt are written in one transaction, and a
 * job acts only on a pending delivery that is due and not leased, so duplicate or stale jobs do
 * nothing: each delivery has one live chain of jobs.
 */
export function createDispatcher (s: DispatcherSettings) {
  const deliveries = createDeliveriesRepository(s.db)
  const endpoints = createWebhooksRepository(s.db)
  const maxAttempts = s.retryDelaysMs.length + 1
  // An attempt's lease outlives its deadline, so only a dead worker's attempt is ever taken over.
  const leaseMs = s.timeoutMs + 15_000
  const log = s.log.child({ module: 'webhooks' })

  const schedule = async (deliveryId: string, at: Date | null, tx: Database): Promise<void> => {
    await s.queue.send<DeliveryJob>(DELIVER_JOB, { deliveryId }, { id: `${deliveryId}@${at?.toISOString() ?? 'now'}`, startAfter: at ?? undefined }, tx)
  }

  const secretsOf = (hook: WebhookRow): string[] => {
    const secrets = [s.box.open(hook.secretSealed)]
    if (hook.previousSecretSealed && hook.previousSecretExpiresAt && hook.previousSecretExpiresAt.getTime() > Date.now()) {
      secrets.push(s.box.open(hook.previousSecretSealed))
    }
    return secrets
  }

  type Claim = { kind: 'attempt', hook: WebhookRow, body: string, eventId: string, attempt: number, lease: Date } | { kind: 'skip' }

  /** claim decides, under the delivery's row lock, whether this job makes an attempt now. */
  const claim = (deliveryId: string): Promise<Claim> => s.db.transaction(async (tx) => {
    const locked = await deliveries.lock(deliveryId, tx)
    // Deleted with its endpoint, finished, or a stale job whose delivery moved on.
    if (!locked || locked.row.status !== 'pending' || !locked.due) return { kind: 'skip' }
    const { row } = locked
    if (locked.leased) {
      // Another worker holds it; if that worker died, the lease lapses and this job takes over then.
      await schedule(row.id, row.leasedUntil, tx)
      return { kind: 'skip' }
    }
    // The in-flight count comes before the endpoint is read: an attempt that ends records its
    // outcome and any disabling (410) in one transaction, so it is either still counted here or its
    // disabling is seen below. Read the other way round, a 410 committing in between let one more
    // attempt through (a third request to a gone endpoint with a limit of two).
    await deliveries.lockEndpoint(row.webhookId, tx)
    const running = await deliveries.inFlight(row.webhookId, tx)
    const hook = await endpoints.find(row.webhookId, tx)
    if (!hook) return { kind: 'skip' }
    if (!hook.enabled) {
      await deliveries.stop(row.id, 'failed', `not attempted: the endpoint is disabled${hook.disabledReason ? ` (${hook.disabledReason})` : ''}`, tx)
      s.onOutcome?.('stopped')
      return { kind: 'skip' }
    }
    if (row.attempts >= maxAttempts) {
      // The schedule was shortened since this delivery was last tried.
      await deliveries.stop(row.id, 'gave_up', row.lastError ?? 'no attempts left', tx)
      return { kind: 'skip' }
    }
    if (running.count >= s.perEndpointConcurrency) {
      // The endpoint has its share of attempts in flight: come back later instead of holding a worker.
      await schedule(row.id, await deliveries.postpone(row.id, busyDelayMs(running.oldestMs), tx), tx)
      s.onOutcome?.('busy')
      return { kind: 'skip' }
    }
    const gate = s.breakers.gate(hook.id, leaseMs)
    if (!gate.allow) {
      // The endpoint's breaker is open: come back when its next probe is due, attempt not spent.
      await schedule(row.id, await deliveries.postpone(row.id, gate.deferMs, tx), tx)
      s.onOutcome?.('deferred')
      return { kind: 'skip' }
    }
    const leased = await deliveries.lease(row.id, leaseMs, tx)
    return { kind: 'attempt', hook, body: row.body, eventId: row.eventId, attempt: leased.attempts, lease: leased.leasedUntil! }
  })

  const outcomeRecord = (result: AttemptResult, attempt: number): AttemptRecord => {
    const base = { lastStatusCode: result.statusCode, lastError: result.error, responseExcerpt: result.excerpt, durationMs: result.durationMs }
    if (result.outcome === 'success') return { ...base, status: 'succeeded' }
    if (result.outcome === 'gone') return { ...base, status: 'failed' }
    const wait = retryDelayMs(s.retryDelaysMs, attempt, result.retryAfterMs)
    return wait === null ? { ...base, status: 'gave_up' } : { ...base, status: 'pending', retryInMs: wait }
  }

  /** defer hands back an attempt the endpoint's breaker refused after the claim: not spent, tried again when a probe is due. */
  async function defer (deliveryId: string, c: Extract<Claim, { kind: 'attempt' }>): Promise<void> {
    await s.db.transaction(async (tx) => {
      const row = await deliveries.release(deliveryId, c.lease, s.breakers.retryInMs(c.hook.id), tx)
      if (row) await schedule(row.id, row.nextAttemptAt, tx)
    })
    s.onOutcome?.('deferred')
  }

  /** attempt runs one `webhooks.deliver` job. */
  async function attempt (deliveryId: string): Promise<void> {
    const c = await claim(deliveryId)
    if (c.kind === 'skip') return
    let result: AttemptResult
    try {
      const timestamp = Math.floor(Date.now() / 1000)
      const headers = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': c.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(secretsOf(c.hook), c.eventId, timestamp, c.body)
      }
      const sent = await s.breakers.send(c.hook.id, () => sendAttempt(c.hook.url, headers, c.body, { timeoutMs: s.timeoutMs, policy: s.policy, resolve: s.resolver() }))
      if (sent === 'refused') {
        await defer(deliveryId, c)
        return
      }
      result = sent
    } catch (err) {
      // A secret that no longer opens (BACKPLANE_SECRET changed): a counted failure, so the delivery still ends.
      log.error({ webhookId: c.hook.id, deliveryId, err: { message: (err as Error).message } }, 'webhook attempt could not be signed')
      result = { outcome: 'failure', statusCode: null, error: 'not sent: the signing secret could not be read', retryAfterMs: null, excerpt: null, durationMs: 0 }
    }
    const record = outcomeRecord(result, c.attempt)
    const saved = await s.db.transaction(async (tx) => {
      const row = await deliveries.record(deliveryId, c.lease, record, tx)
      if (!row) return undefined
      if (record.status === 'pending') await schedule(row.id, row.nextAttemptAt, tx)
      if (record.status === 'succeeded') await endpoints.recordSuccess(c.hook.id, tx)
      else await endpoints.recordFailure(c.hook.id, tx, result.outcome === 'gone' ? `The endpoint answered 410 Gone at ${new Date().toISOString()}` : undefined)
      return row
    })
    s.onOutcome?.(result.outcome === 'success' ? 'succeeded' : result.outcome === 'gone' ? 'gone' : record.status === 'gave_up' ? 'gave_up' : result.outcome === 'blocked' ? 'blocked' : 'retry')
    const fields = { webhookId: c.hook.id, deliveryId, attempt: c.attempt, status: result.statusCode, ms: result.durationMs }
    if (!saved) log.warn(fields, 'webhook attempt outcome not recorded: the delivery was taken over or deleted meanwhile')
    else if (result.outcome === 'success') log.debug(fields, 'webhook delivered')
    else log.warn({ ...fields, error: result.error, next: saved.status }, 'webhook attempt failed')
  }

  /** enqueue creates the deliveries of one event to these endpoints, with their first jobs, in the caller's transaction. */
  async function enqueue (event: WebhookEvent, webhookIds: readonly string[], tx: Database): Promise<string[]> {
    const body = payloadOf(event)
    const created = await deliveries.insertMany(webhookIds.map((webhookId) => ({ webhookId, eventId: event.id, eventType: event.type, body })), tx)
    for (const row of created) await schedule(row.id, null, tx)
    return created.map((r) => r.id)
  }

  return {
    maxAttempts,
    attempt,
    enqueue,

    /** onPublish fans a published event out to its project's subscribed endpoints (runs once per event, in the relay's transaction). */
    async onPublish (event: PublishedEvent, tx: Database): Promise<void> {
      const projectIds = event.channels.filter((c) => c.startsWith('project:')).map((c) => c.slice('project:'.length))
      for (const projectId of new Set(projectIds)) {
        if (!/^[0-9a-f-]{36}$/i.test(projectId)) continue
        const hooks = await endpoints.subscribed(projectId, event.type, tx)
        if (hooks.length > 0) await enqueue(event, hooks.map((h) => h.id), tx)
      }
    },

    /** restart schedules a fresh series of attempts of a finished delivery now; undefined while an attempt is in flight. */
    async restart (webhookId: string, deliveryId: string) {
      return s.db.transaction(async (tx) => {
        const row = await deliveries.restart(webhookId, deliveryId, tx)
        if (row) await schedule(row.id, row.nextAttemptAt, tx)
        return row
      })
    }
  }
}

/** Dispatcher is the delivery engine of the webhooks module. */
export type Dispatcher = ReturnType<typeof createDispatcher>
