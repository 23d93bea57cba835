import { and, count, desc, eq, gt, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { webhookDeliveries as d, type DeliveryRow, type DeliveryStatus } from './table.ts'

const inMs = (ms: number) => sql`now() + make_interval(secs => ${ms / 1000})`

/** LockedDelivery is a delivery row locked for a decision, with the database clock's verdicts on it. */
export interface LockedDelivery { row: DeliveryRow, due: boolean, leased: boolean }

/** AttemptRecord is what the last attempt left on the delivery. */
export interface AttemptRecord {
  status: DeliveryStatus
  lastStatusCode: number | null
  lastError: string | null
  responseExcerpt: string | null
  durationMs: number
  /** retryInMs schedules the next attempt (status pending). */
  retryInMs?: number
}

/** createDeliveriesRepository holds the webhook_deliveries queries, the claim of an attempt included. */
export function createDeliveriesRepository (db: Database) {
  return {
    /** insertMany adds deliveries, skipping any endpoint that already has this event (a republished event); returns the new ones. */
    async insertMany (rows: Array<Omit<typeof d.$inferInsert, 'nextAttemptAt'>>, tx: Database): Promise<Array<{ id: string }>> {
      if (rows.length === 0) return []
      // Due by the database clock, the one every claim is judged by.
      return tx.insert(d).values(rows.map((r) => ({ ...r, nextAttemptAt: sql`now()` }))).onConflictDoNothing({ target: [d.webhookId, d.eventId] })
        .returning({ id: d.id })
    },
    async find (webhookId: string, id: string): Promise<DeliveryRow | undefined> {
      const [row] = await db.select().from(d).where(and(eq(d.id, id), eq(d.webhookId, webhookId)))
      return row
    },
    /** lock takes the delivery's row lock (concurrent runs of its job queue up behind it) and judges it by the database clock. */
    async lock (id: string, tx: Database): Promise<LockedDelivery | undefined> {
      const [found] = await tx.select({
        row: d,
        due: sql<boolean>`${d.nextAttemptAt} IS NOT NULL AND ${d.nextAttemptAt} <= now()`,
        leased: sql<boolean>`${d.leasedUntil} IS NOT NULL AND ${d.leasedUntil} > now()`
      }).from(d).where(eq(d.id, id)).for('update')
      return found
    },
    /** lockEndpoint serialises slot claims per endpoint, so its in-flight count holds across nodes. */
    async lockEndpoint (webhookId: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`webhook-slots:${webhookId}`}, 0))`)
    },
    /** inFlight counts the endpoint's attempts under way and how long the oldest has run (ms). */
    async inFlight (webhookId: string, tx: Database): Promise<{ count: number, oldestMs: number }> {
      const [row] = await tx.select({
        count: count(),
        oldestMs: sql<number>`coalesce(extract(epoch from now() - min(${d.lastAttemptAt})) * 1000, 0)::int`
      }).from(d).where(and(eq(d.webhookId, webhookId), gt(d.leasedUntil, sql`now()`)))
      return { count: row?.count ?? 0, oldestMs: Number(row?.oldestMs ?? 0) }
    },
    /** postpone moves the next attempt later without counting one; returns the new time. */
    async postpone (id: string, ms: number, tx: Database): Promise<Date> {
      const [row] = await tx.update(d).set({ nextAttemptAt: inMs(ms) }).where(eq(d.id, id)).returning({ at: d.nextAttemptAt })
      return row!.at!
    },
    /** lease starts an attempt: counted, and held for `ms` (then another worker may take it over). */
    async lease (id: string, ms: number, tx: Database): Promise<DeliveryRow> {
      const [row] = await tx.update(d).set({ leasedUntil: inMs(ms), attempts: sql`${d.attempts} + 1`, lastAttemptAt: sql`now()` })
        .where(eq(d.id, id)).returning()
      return row!
    },
    /** release gives back a leased attempt that was not made (the endpoint's breaker refused it): uncounted, due in `ms`. */
    async release (id: string, lease: Date, ms: number, tx: Database): Promise<DeliveryRow | undefined> {
      const [row] = await tx.update(d).set({ leasedUntil: null, attempts: sql`${d.attempts} - 1`, nextAttemptAt: inMs(ms) })
        .where(and(eq(d.id, id), eq(d.leasedUntil, lease), eq(d.status, 'pending'))).returning()
      return row
    },
    /** stop ends a pending delivery without another attempt (its endpoint was disabled, or no attempts are left). */
    async stop (id: string, status: 'failed' | 'gave_up', reason: string, tx: Database): Promise<void> {
      await tx.update(d).set({ status, lastError: reason, nextAttemptAt: null, leasedUntil: null, completedAt: sql`now()` }).where(eq(d.id, id))
    },
    /**
     * record writes an attempt's outcome, only while this worker's lease is still the one on the
     * row (a worker that overran its lease and was taken over writes nothing); returns the row.
     */
    async record (id: string, lease: Date, outcome: AttemptRecord, tx: Database): Promise<DeliveryRow | undefined> {
      const done = outcome.status !== 'pending'
      const [row] = await tx.update(d).set({
        status: outcome.status,
        lastStatusCode: outcome.lastStatusCode,
        lastError: outcome.lastError,
        responseExcerpt: outcome.responseExcerpt,
        durationMs: outcome.durationMs,
        leasedUntil: null,
        nextAttemptAt: done ? null : inMs(outcome.retryInMs ?? 0),
        completedAt: done ? sql`now()` : null
      }).where(and(eq(d.id, id), eq(d.leasedUntil, lease), eq(d.status, 'pending'))).returning()
      return row
    },
    /** restart starts a fresh series of attempts now, unless an attempt is in flight. */
    async restart (webhookId: string, id: string, tx: Database): Promise<DeliveryRow | undefined> {
      const [row] = await tx.update(d).set({
        status: 'pending', attempts: 0, nextAttemptAt: sql`now()`, completedAt: null, redeliveredAt: sql`now()`
      }).where(and(eq(d.id, id), eq(d.webhookId, webhookId), or(isNull(d.leasedUntil), lt(d.leasedUntil, sql`now()`)))).returning()
      return row
    },
    /** list returns one page of an endpoint's deliveries, newest first. */
    async list (webhookId: string, limit: number, filter: { cursor?: Cursor, status?: DeliveryStatus }): Promise<DeliveryRow[]> {
      const where: SQL[] = [eq(d.webhookId, webhookId)]
      if (filter.status) where.push(eq(d.status, filter.status))
      if (filter.cursor) {
        const at = new Date(filter.cursor.at)
        where.push(or(lt(d.createdAt, at), and(eq(d.createdAt, at), lt(d.id, filter.cursor.id)))!)
      }
      return db.select().from(d).where(and(...where)).orderBy(desc(d.createdAt), desc(d.id)).limit(limit + 1)
    }
  }
}

/** DeliveriesRepository is the webhooks module's delivery data access. */
export type DeliveriesRepository = ReturnType<typeof createDeliveriesRepository>
