import { and, asc, count, inArray, isNull, lte, sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { newId } from '../../lib/ids.ts'
import type { Database } from '../db.ts'
import { errorMessage, type OutgoingJob } from '../queue-port.ts'
import { queueOutbox } from '../queue-table.ts'

/** OutboxRow is one accepted job as the outbox stores it. */
export type OutboxRow = typeof queueOutbox.$inferSelect

/** OutboxFaults are fault points for crash tests: `afterPublish` runs after the broker confirmed a batch and before it is marked published. */
export interface OutboxFaults { afterPublish?: (rows: OutboxRow[]) => Promise<void> }

/** Outbox records accepted jobs in the database and relays them to the broker. */
export interface Outbox {
  /** insert records a job (inside `tx` when given); null when a job with that id was already accepted. */
  insert: (job: OutgoingJob, tx?: Database) => Promise<string | null>
  /** insertMany records jobs in one statement; it gives the ids of those not accepted before. */
  insertMany: (jobs: OutgoingJob[], tx?: Database) => Promise<string[]>
  /** start runs the relay until stop(). */
  start: () => void
  /** wake makes the relay look for due rows now. */
  wake: () => void
  stop: () => Promise<void>
  /** pending counts accepted jobs not yet handed to the broker, by name. */
  pending: (names: string[]) => Promise<Map<string, number>>
}

const BATCH = 200
const POLL_MS = 500
const PURGE_EVERY_MS = 60_000
// Published rows are kept this long so a repeated send with the same id is still ignored.
const KEEP_PUBLISHED = '1 day'

/**
 * createOutbox makes the database the record that a job was accepted: the relay locks due rows
 * (SKIP LOCKED, so nodes share the work), publishes them with confirms and marks them published
 * in the same transaction. A crash between the confirm and the commit leaves the rows unmarked,
 * so they are published again: at least once, and handlers dedupe by job id.
 */
export function createOutbox ({ db, log, publish, faults = {} }: {
  db: Database
  log: FastifyBaseLogger
  publish: (row: OutboxRow) => Promise<void>
  faults?: OutboxFaults
}): Outbox {
  let running: Promise<void> | undefined
  let stopped = false
  let pending = false
  let nudge: (() => void) | undefined
  let lastPurge = Date.now()
  let failing = false

  const wake = () => { if (nudge) nudge(); else pending = true }
  const idle = () => new Promise<void>((resolve) => {
    if (pending || stopped) { pending = false; resolve(); return }
    const timer = setTimeout(() => { nudge = undefined; resolve() }, POLL_MS)
    nudge = () => { nudge = undefined; clearTimeout(timer); resolve() }
  })

  async function relayOnce (): Promise<number> {
    return db.transaction(async (tx) => {
      const rows = await tx.select().from(queueOutbox)
        .where(and(isNull(queueOutbox.publishedAt), lte(queueOutbox.availableAt, sql`now()`)))
        .orderBy(asc(queueOutbox.availableAt))
        .limit(BATCH)
        .for('update', { skipLocked: true })
      if (rows.length === 0) return 0
      await Promise.all(rows.map(publish))
      await faults.afterPublish?.(rows)
      await tx.update(queueOutbox).set({ publishedAt: sql`now()` }).where(inArray(queueOutbox.id, rows.map((r) => r.id)))
      return rows.length
    })
  }

  async function purge (): Promise<void> {
    lastPurge = Date.now()
    await db.execute(sql`DELETE FROM ${queueOutbox} WHERE ${queueOutbox.id} IN (
      SELECT ${queueOutbox.id} FROM ${queueOutbox} WHERE ${queueOutbox.publishedAt} < now() - ${KEEP_PUBLISHED}::interval LIMIT 10000)`)
  }

  async function loop (): Promise<void> {
    for (;;) {
      if (stopped) return
      let relayed = 0
      try {
        relayed = await relayOnce()
        if (Date.now() - lastPurge > PURGE_EVERY_MS) await purge()
        if (failing) log.info('job relay recovered')
        failing = false
      } catch (err) {
        if (!failing) log.warn({ err: { message: errorMessage(err) } }, 'cannot hand jobs to RabbitMQ yet; they stay in the outbox and are retried')
        failing = true
      }
      if (relayed < BATCH) await idle()
    }
  }

  const store = async (jobs: OutgoingJob[], tx?: Database): Promise<string[]> => {
    if (jobs.length === 0) return []
    const rows = await (tx ?? db).insert(queueOutbox).values(jobs.map((job) => ({
      id: job.id ?? newId(),
      name: job.name,
      data: job.data,
      traceContext: job.trace ? { ...job.trace } : null,
      retryLimit: job.policy.retryLimit,
      retryDelaySeconds: job.policy.retryDelaySeconds,
      retryBackoff: job.policy.retryBackoff,
      ...(job.startAfter ? { availableAt: job.startAfter } : {})
    }))).onConflictDoNothing({ target: queueOutbox.id }).returning({ id: queueOutbox.id })
    // Inside a transaction the rows are not visible until it commits: the next poll finds them.
    if (!tx) wake()
    return rows.map((r) => r.id)
  }

  return {
    async insert (job, tx) {
      return (await store([job], tx))[0] ?? null
    },
    insertMany: store,
    start () {
      stopped = false
      running ??= loop().finally(() => { running = undefined })
    },
    wake,
    async stop () {
      stopped = true
      wake()
      await running
    },
    async pending (names) {
      if (names.length === 0) return new Map()
      const rows = await db.select({ name: queueOutbox.name, n: count() }).from(queueOutbox)
        .where(and(isNull(queueOutbox.publishedAt), inArray(queueOutbox.name, names)))
        .groupBy(queueOutbox.name)
      return new Map(rows.map((r) => [r.name, r.n]))
    }
  }
}
