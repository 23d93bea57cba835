import { EventEmitter } from 'node:events'
import { sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import type pg from 'pg'
import type { ConstructorOptions, Db, Job as BossJob, PgBoss } from 'pg-boss'
import type { Database } from '../db.ts'
import { jobOptions, outputMessage } from './pg-boss-jobs.ts'
import { unwrapTrace, wrapTrace } from './pg-boss-trace.ts'
import { errorMessage, runTraced, type DeadLetter, type JobDefinition, type QueueBackend, type QueueStats } from '../queue-port.ts'

/** QUEUE_SCHEMA is the PostgreSQL schema pg-boss keeps its tables in, beside the app's own. */
export const QUEUE_SCHEMA = 'pgboss'
// Idle workers look for due jobs (delayed, retried, sent by another node) this often; a send on
// this node wakes its worker at once.
const POLL_MS = 500
// A running job is touched every TOUCH_MS; one not touched for HEARTBEAT_SECONDS (its worker
// died) is failed by pg-boss's monitor (every minute) and retried: a killed node loses nothing.
const HEARTBEAT_SECONDS = 30
const TOUCH_MS = 10_000

// A start that lost the race to install pg-boss's schema is tried again after this long.
const INSTALL_RETRY_MS = 500

const deadQueue = (name: string) => `${name}.dead`

function bossOptions (connection: { db: Db } | { connectionString: string }): ConstructorOptions {
  // Cron belongs to the scheduler, not to pg-boss; supervise runs expiry, heartbeats and retention.
  return { ...connection, schema: QUEUE_SCHEMA, schedule: false, supervise: true, migrate: true }
}

// pg-boss is an EventEmitter, but its typings lose the base class under this project's settings
// (a default import of node:events without esModuleInterop): narrow it at run time instead.
function onError (boss: PgBoss, listener: (err: Error) => void): void {
  if (boss instanceof EventEmitter) boss.on('error', listener)
}

// Loaded on first use: an app that never sends a job never loads pg-boss (~40 ms).
const library = () => import('pg-boss')

/** installQueueSchema creates or upgrades pg-boss's tables in a database (start-up does it too, on first use). */
export async function installQueueSchema (url: string): Promise<void> {
  const { PgBoss } = await library()
  const boss = new PgBoss({ ...bossOptions({ connectionString: url }), supervise: false, max: 1 })
  onError(boss, () => {})
  await boss.start()
  await boss.stop({ graceful: false })
}

interface Worker {
  definition: JobDefinition
  active: Map<string, BossJob<unknown>>
  runs: Set<Promise<void>>
  wake: () => void
  loop: Promise<void>
}

/**
 * createPgBossQueue runs jobs with pg-boss in the app's own database, through the app's pool: a
 * job is a row, so a send inside a transaction exists only if it commits, and jobs survive any
 * restart. Each job name gets a dead-letter queue `<name>.dead`. Workers are a fetch loop per
 * job name (not pg-boss's batch workers) so one slow job never holds back the others.
 */
export function createPgBossQueue ({ pool, log }: { pool: pg.Pool, log: FastifyBaseLogger }): QueueBackend {
  const db: Db = { executeSql: async (text, values) => pool.query(text, values) }
  let booting: Promise<PgBoss> | undefined
  let failure: Error | undefined
  let stopping = false
  let heartbeat: NodeJS.Timeout | undefined
  const ensured = new Map<string, Promise<void>>()
  const workers = new Map<string, Worker>()

  function boss (): Promise<PgBoss> {
    if (!booting) {
      const attempt = (async () => {
        const { PgBoss } = await library()
        const startOne = async (): Promise<PgBoss> => {
          const b = new PgBoss(bossOptions({ db }))
          onError(b, (err) => { log.warn({ err: { message: err.message } }, 'pg-boss maintenance problem') })
          try {
            await b.start()
            return b
          } catch (err) {
            await b.stop({ graceful: false }).catch(() => {})
            throw err
          }
        }
        try {
          return await startOne()
        } catch (err) {
          // Processes starting together on a new database (`start --workers N`, nodes of a
          // deployment) all find pg-boss not installed and install it at once: all but one fail
          // ("already exists"), and their job workers never started. Once installed, a start succeeds.
          log.info({ err: { message: (err as Error).message } }, 'pg-boss did not start (another process may be installing it); starting again')
          await new Promise((resolve) => setTimeout(resolve, INSTALL_RETRY_MS))
          return startOne()
        }
      })()
      booting = attempt
      attempt.then(() => { failure = undefined }, (err: unknown) => {
        failure = err instanceof Error ? err : new Error(String(err))
        if (booting === attempt) booting = undefined
      })
    }
    return booting
  }

  function ensureQueue (b: PgBoss, name: string): Promise<void> {
    let ready = ensured.get(name)
    if (!ready) {
      ready = (async () => {
        await b.createQueue(deadQueue(name))
        await b.createQueue(name, { deadLetter: deadQueue(name), heartbeatSeconds: HEARTBEAT_SECONDS })
      })()
      ensured.set(name, ready)
      ready.catch(() => { ensured.delete(name) })
    }
    return ready
  }

  function startWorker (b: PgBoss, definition: JobDefinition): Worker {
    const { name, handler, concurrency } = definition
    const active = new Map<string, BossJob<unknown>>()
    const runs = new Set<Promise<void>>()
    let pending = false
    let nudge: (() => void) | undefined
    let failing = false
    const wake = () => { if (nudge) nudge(); else pending = true }
    const idle = () => new Promise<void>((resolve) => {
      if (pending || stopping) { pending = false; resolve(); return }
      const timer = setTimeout(() => { nudge = undefined; resolve() }, POLL_MS)
      nudge = () => { nudge = undefined; clearTimeout(timer); resolve() }
    })
    const run = async (job: BossJob<unknown>) => {
      const attempt = { id: job.id, retryCount: job.retryCount }
      let error: unknown
      let ok = false
      try {
        const { data, trace } = unwrapTrace(job.data)
        await runTraced(handler, { id: job.id, name, data, attempt: job.retryCount + 1 }, trace)
        ok = true
      } catch (err) { error = err }
      try {
        if (ok) await b.complete(name, attempt)
        else await b.fail(name, attempt, { message: errorMessage(error) })
      } catch (err) {
        // The job stays active; its heartbeat lapses and pg-boss retries it (at least once).
        log.warn({ job: name, jobId: job.id, err: { message: errorMessage(err) } }, 'job outcome not recorded; it will run again')
      }
    }
    const loop = async () => {
      for (;;) {
        if (stopping) return
        const free = concurrency - active.size
        if (free > 0) {
          try {
            const jobs = await b.fetch<unknown>(name, { batchSize: free })
            failing = false
            for (const job of jobs) {
              active.set(job.id, job)
              const done: Promise<void> = run(job).finally(() => { active.delete(job.id); runs.delete(done); wake() })
              runs.add(done)
            }
          } catch (err) {
            if (!failing) log.warn({ job: name, err: { message: errorMessage(err) } }, 'cannot fetch jobs; retrying')
            failing = true
          }
        }
        await idle()
      }
    }
    return { definition, active, runs, wake, loop: loop() }
  }

  async function touchActive (b: PgBoss): Promise<void> {
    for (const { definition, active } of workers.values()) {
      if (active.size === 0) continue
      const attempts = [...active.values()].map((j) => ({ id: j.id, retryCount: j.retryCount }))
      await b.touch(definition.name, attempts).catch((err: unknown) => {
        log.warn({ job: definition.name, err: { message: errorMessage(err) } }, 'job heartbeat failed')
      })
    }
  }

  return {
    kind: 'pg-boss',
    async send (job, tx?: Database) {
      const b = await boss()
      const { fromDrizzle } = await library()
      await ensureQueue(b, job.name)
      // Any JSON value: pg-boss stores it with JSON.stringify.
      const data = wrapTrace(job.data, job.trace) as object | null
      const id = await b.send(job.name, data, { ...jobOptions(job), ...(tx ? { db: fromDrizzle(tx, sql) } : {}) })
      // Inside a transaction the row is not visible yet: the worker's next poll finds it.
      if (id && !tx) workers.get(job.name)?.wake()
      return id
    },
    async sendMany (jobs, tx?: Database) {
      const name = jobs[0]?.name
      if (name === undefined) return []
      const b = await boss()
      const { fromDrizzle } = await library()
      await ensureQueue(b, name)
      // One INSERT … ON CONFLICT DO NOTHING for the whole batch; the queue's own settings (dead
      // letter, heartbeat) fill in what a job leaves out, as they do for send().
      const ids = await b.insert(name, jobs.map((job) => ({ ...jobOptions(job), data: wrapTrace(job.data, job.trace) as object })), {
        returnId: true,
        ...(tx ? { db: fromDrizzle(tx, sql) } : {})
      }) ?? []
      if (ids.length > 0 && !tx) workers.get(name)?.wake()
      return ids
    },
    async start (definitions) {
      const b = await boss()
      for (const definition of definitions) {
        if (workers.has(definition.name) || stopping) continue
        await ensureQueue(b, definition.name)
        workers.set(definition.name, startWorker(b, definition))
      }
      heartbeat ??= setInterval(() => { touchActive(b).catch(() => {}) }, TOUCH_MS).unref()
    },
    async stop (timeoutMs) {
      stopping = true
      for (const w of workers.values()) w.wake()
      await Promise.all([...workers.values()].map((w) => w.loop))
      const running = [...workers.values()].flatMap((w) => [...w.runs])
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
      await Promise.race([Promise.allSettled(running), timeout])
      clearTimeout(timer)
      clearInterval(heartbeat)
      const b = booting && await booting.catch(() => undefined)
      for (const { definition, active } of workers.values()) {
        if (!b || active.size === 0) continue
        // Handed back now rather than when the heartbeat lapses: another node retries them (idempotent handlers).
        const attempts = [...active.values()].map((j) => ({ id: j.id, retryCount: j.retryCount }))
        log.warn({ job: definition.name, count: attempts.length }, 'jobs still running at shutdown were handed back for a retry')
        await b.fail(definition.name, attempts, { message: 'the node stopped before the job finished' }).catch(() => {})
      }
    },
    async stats (definitions) {
      const b = await boss()
      const known = await b.getQueues()
      const all = [...new Set([...definitions.map((d) => d.name), ...known.map((q) => q.name).filter((n) => !n.endsWith('.dead'))])].sort()
      const { rows } = await pool.query<{ name: string, state: string, n: number, oldest: number | null }>(
        `SELECT name, state::text AS state, count(*)::int AS n,
            EXTRACT(EPOCH FROM now() - min(start_after) FILTER (WHERE start_after <= now()))::float8 AS oldest
          FROM ${QUEUE_SCHEMA}.job
          WHERE name = ANY($1::text[]) AND state IN ('created', 'retry', 'active') GROUP BY name, state`,
        [[...all, ...all.map(deadQueue)]])
      const count = (name: string, states: string[]) => rows.filter((r) => r.name === name && states.includes(r.state)).reduce((s, r) => s + r.n, 0)
      return all.map((name): QueueStats => ({
        name,
        queued: count(name, ['created']),
        active: count(name, ['active']),
        failed: count(name, ['retry']),
        deadLetters: count(deadQueue(name), ['created', 'retry']),
        oldestDueSeconds: Math.max(0, ...rows.filter((r) => r.name === name && r.state !== 'active').map((r) => r.oldest ?? 0))
      }))
    },
    async deadLetters (name, limit) {
      await boss()
      const { rows } = await pool.query<{ id: string, data: unknown, output: unknown, created_on: Date }>(
        `SELECT id, data, COALESCE(source_output, output) AS output, created_on FROM ${QUEUE_SCHEMA}.job
          WHERE name = $1 AND state IN ('created', 'retry') ORDER BY created_on, id LIMIT $2`,
        [deadQueue(name), limit])
      return rows.map((r): DeadLetter => ({ id: r.id, name, data: unwrapTrace(r.data).data, error: outputMessage(r.output), failedAt: r.created_on.toISOString() }))
    },
    async retryDeadLetter (name, id) {
      const b = await boss()
      if (!(await b.getQueue(deadQueue(name)))) return false
      const moved = await b.redrive(deadQueue(name), { ids: [id], destination: name })
      if (moved > 0) workers.get(name)?.wake()
      return moved > 0
    },
    async check () {
      if (failure) throw failure
    },
    async close () {
      clearInterval(heartbeat)
      const b = booting && await booting.catch(() => undefined)
      // The pool is the app's: the db plugin closes it after this.
      await b?.stop({ close: false, graceful: false })
    }
  }
}
