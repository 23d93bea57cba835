import fp from 'fastify-plugin'
import { sql } from 'drizzle-orm'
import type { Database } from './db.ts'
import { outbox } from './events-table.ts'
import { isId } from '../lib/ids.ts'
import { asTraceCarrier, tracing, type TraceCarrier } from './tracing.ts'

/** DomainEvent is what a service records with its change: `execution.completed` on `execution:<id>`, to be seen on `project:<id>` … */
export interface DomainEvent {
  /** type is `<resource>.<past-tense verb>`, e.g. `project.member_added`. */
  type: string
  /** aggregate names the changed thing (`project:<id>`); events of one aggregate are published in order. */
  aggregate: string
  /** channels are the realtime channels the event is shown on: `user:<id>`, `project:<id>`, `agent:<id>`, `admin`. */
  channels: string[]
  /** data is the event's body: ids and public fields only, never secrets. */
  data: Record<string, unknown>
}

/** PublishedEvent is an event as subscribers receive it: `id` is stable (deduplicate on it), `position` orders publication. */
export interface PublishedEvent extends DomainEvent {
  id: string
  position: number
  at: string
  /** trace is the publication's trace context, a child of the recording request's (absent without tracing; never sent to clients). */
  trace?: TraceCarrier
}

/** ReplayResult is what happened since an event: the later events of the channels, or `gap` when it is older than the retention window. */
export type ReplayResult = { gap: false, events: PublishedEvent[] } | { gap: true, events: [] }

/** Events is the events port: record with a change, receive once published, replay after a reconnect. */
export interface Events {
  /** record writes the event to the outbox in the caller's transaction: published only if it commits. */
  record: (event: DomainEvent, tx: Database) => Promise<void>
  /** recordMany writes several events in one statement, as record() does each; `traces[i]` is event i's trace context (default: the active one). */
  recordMany: (events: DomainEvent[], tx: Database, traces?: Array<TraceCarrier | null>) => Promise<void>
  /** subscribe receives every published event on this node (each node gets each event; realtime fans out with it). */
  subscribe: (listener: (event: PublishedEvent) => void) => () => void
  /**
   * onPublish runs once per event, whatever the number of nodes, inside the relay's transaction,
   * before the event is marked published (webhooks enqueue their deliveries with it).
   */
  onPublish: (handler: (event: PublishedEvent, tx: Database) => Promise<void>) => void
  /** replay returns the events after `afterId` shown on any of `channels`, oldest first (at most `limit`). */
  replay: (afterId: string, channels: readonly string[], limit?: number) => Promise<ReplayResult>
  /** relayOnce publishes what is committed and unpublished; returns how many (the relay loop and tests call it). */
  relayOnce: () => Promise<number>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** events is the transactional outbox and its relay. */
    events: Events
  }
}

const TOPIC = 'backplane.events'
const BATCH = 500
// One relay at a time across every node: publication order is the order of positions.
const RELAY_LOCK = sql`pg_try_advisory_xact_lock(hashtextextended('backplane:outbox-relay', 0))`

type Row = { id: string, type: string, aggregate: string, channels: string[], data: Record<string, unknown>, created_at: Date | string, position?: number | string | null, trace_context?: unknown } & Record<string, unknown>

function toEvent (row: Row, position: number): PublishedEvent {
  return { id: row.id, position, type: row.type, aggregate: row.aggregate, channels: row.channels, data: row.data, at: new Date(row.created_at).toISOString() }
}

function publishSpan (event: PublishedEvent, parent: TraceCarrier | null) {
  return { parent, kind: 'producer' as const, attributes: { 'backplane.event.id': event.id, 'backplane.event.type': event.type, 'backplane.event.position': event.position } }
}

/** createEvents builds the events port over the outbox table and the pubsub port. */
export function createEvents ({ db, publish, retentionHours }: { db: Database, publish: (message: string) => Promise<void>, retentionHours: number }) {
  const listeners = new Set<(event: PublishedEvent) => void>()
  const publishHandlers: Array<(event: PublishedEvent, tx: Database) => Promise<void>> = []
  let lastPrune = 0

  const events: Events & { deliver: (message: string) => void, prune: () => Promise<number> } = {
    async record (event, tx) {
      await events.recordMany([event], tx)
    },
    async recordMany (list, tx, traces) {
      if (list.length === 0) return
      const active = tracing.capture()
      await tx.insert(outbox).values(list.map((event, i) => {
        const trace = traces?.[i] ?? active
        return { type: event.type, aggregate: event.aggregate, channels: event.channels, data: event.data, ...(trace ? { traceContext: { ...trace } } : {}) }
      }))
    },
    subscribe (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    onPublish (handler) { publishHandlers.push(handler) },
    async replay (afterId, channels, limit = 1000) {
      if (!isId(afterId) || channels.length === 0) return { gap: true, events: [] }
      const from = await db.execute<{ position: string | number | null }>(sql`SELECT position FROM ${outbox} WHERE id = ${afterId}`)
      const position = from.rows[0]?.position
      if (position === undefined || position === null) return { gap: true, events: [] }
      const rows = await db.execute<Row>(sql`
        SELECT id, type, aggregate, channels, data, created_at, position FROM ${outbox}
        WHERE position > ${position} AND channels && ARRAY[${sql.join(channels.map((c) => sql`${c}`), sql`, `)}]::text[]
        ORDER BY position LIMIT ${limit}`)
      return { gap: false, events: rows.rows.map((r) => toEvent(r, Number(r.position))) }
    },
    /**
     * relayOnce publishes committed events in insert order. Positions are assigned, the publish
     * handlers run and the events go to pubsub before the transaction marks them published: a
     * crash or a pubsub failure before the commit rolls it all back and the next pass publishes
     * them again (subscribers may see an event twice and deduplicate on its id); a rolled-back
     * change never had an outbox row.
     */
    async relayOnce () {
      const published = await db.transaction(async (tx) => {
        const lock = await tx.execute<{ ok: boolean }>(sql`SELECT ${RELAY_LOCK} AS ok`)
        if (!lock.rows[0]?.ok) return []
        const rows = (await tx.execute<Row>(sql`
          SELECT id, type, aggregate, channels, data, created_at, trace_context FROM ${outbox}
          WHERE published_at IS NULL ORDER BY seq LIMIT ${BATCH}`)).rows
        if (rows.length === 0) return []
        const positions = (await tx.execute<{ p: string }>(sql`SELECT nextval('outbox_position_seq') AS p FROM generate_series(1, ${rows.length})`)).rows.map((r) => Number(r.p)).sort((a, b) => a - b)
        const list = rows.map((row, i) => toEvent(row, positions[i]!))
        // Ids come from the table (uuid column) and positions from the sequence: safe to inline.
        if (!list.every((e) => isId(e.id) && Number.isSafeInteger(e.position))) throw new Error('outbox row with a malformed id or position')
        if (!tracing.enabled) {
          for (const event of list) for (const handler of publishHandlers) await handler(event, tx)
          for (const event of list) await publish(JSON.stringify(event))
        } else {
          for (const [i, event] of list.entries()) {
            // Each event is published in a span of the trace that recorded it: the webhook
            // deliveries it enqueues and the message to every node carry that trace on.
            await tracing.span(`event ${event.type} publish`, publishSpan(event, asTraceCarrier(rows[i]!.trace_context)), async () => {
              for (const handler of publishHandlers) await handler(event, tx)
              const trace = tracing.capture()
              await publish(JSON.stringify(trace ? { ...event, trace } : event))
            })
          }
        }
        await tx.execute(sql`
          UPDATE ${outbox} SET position = v.pos, published_at = now(), updated_at = now()
          FROM unnest(${sql.raw(`ARRAY[${list.map((e) => `'${e.id}'`).join(',')}]`)}::uuid[], ${sql.raw(`ARRAY[${list.map((e) => e.position).join(',')}]`)}::bigint[]) AS v(id, pos)
          WHERE ${outbox}.id = v.id`)
        return list
      })
      if (Date.now() - lastPrune > 60_000) await events.prune()
      return published.length
    },
    deliver (message) {
      const event = JSON.parse(message) as PublishedEvent
      const trace = asTraceCarrier(event.trace)
      if (!trace) {
        for (const listener of listeners) listener(event)
        return
      }
      // Realtime fans out inside a span of the event's trace on every node. The listeners run
      // synchronously within it, so a listener's error still reaches the caller as before.
      let failure: unknown
      tracing.span(`event ${event.type} deliver`, { parent: trace, kind: 'consumer', attributes: { 'backplane.event.id': event.id } }, async () => {
        for (const listener of listeners) {
          try { listener(event) } catch (err) { failure ??= err }
        }
      }).catch(() => {})
      if (failure !== undefined) throw failure
    },
    /** prune drops published events older than the retention window (replay then reports a gap). */
    async prune () {
      lastPrune = Date.now()
      const result = await db.execute(sql`DELETE FROM ${outbox} WHERE published_at < now() - make_interval(hours => ${retentionHours})`)
      return result.rowCount ?? 0
    }
  }
  return events
}

/**
 * events decorates `app.events`: services record events in their transactions; a relay on every
 * node (one at a time, by advisory lock) publishes them through pubsub, started on listen.
 */
export default fp(async function eventsPlugin (app) {
  const events = createEvents({ db: app.db, publish: (m) => app.pubsub.publish(TOPIC, m), retentionHours: app.config.events.retentionHours })
  app.decorate('events', events)
  let unsubscribe: (() => Promise<void>) | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let stopped = false
  let failing = false
  app.addHook('onReady', async () => { unsubscribe = await app.pubsub.subscribe(TOPIC, events.deliver) })
  const loop = () => {
    if (stopped) return
    timer = setTimeout(() => {
      running = events.relayOnce().then(() => {
        if (failing) app.log.info('event relay publishing again')
        failing = false
      }, (err: unknown) => {
        // Once per outage, not every pass: events wait in the outbox meanwhile, nothing is lost.
        if (!failing) app.log.warn({ err: { message: (err as Error).message } }, 'event relay cannot publish; events wait in the outbox and it keeps retrying')
        failing = true
      }).finally(() => { running = undefined; loop() })
    }, app.config.events.relayIntervalMs)
    timer.unref()
  }
  app.addHook('onListen', async () => { loop() })
  app.addHook('preClose', async () => {
    stopped = true
    if (timer) clearTimeout(timer)
    await running
  })
  app.addHook('onClose', async () => { await unsubscribe?.() })
}, { name: 'events', dependencies: ['db', 'pubsub'] })
