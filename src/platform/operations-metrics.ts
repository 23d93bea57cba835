import fp from 'fastify-plugin'
import { Counter, Gauge, type Registry } from 'prom-client'
import { sql } from 'drizzle-orm'
import { version } from '../lib/version.ts'

/**
 * scrapeGauge is a gauge whose values are read when Prometheus scrapes. A failing read (the
 * database is away) keeps the last values and logs once per outage: /metrics itself must still
 * answer, that is when it is needed most.
 */
export function scrapeGauge<L extends string> (registry: Registry, options: { name: string, help: string, labelNames?: readonly L[] }, read: (gauge: Gauge<L>) => Promise<void>, warn: (message: string) => void): Gauge<L> {
  let failing = false
  return new Gauge<L>({
    ...options,
    labelNames: options.labelNames ?? [],
    registers: [registry],
    async collect () {
      try {
        await read(this)
        failing = false
      } catch (err) {
        if (!failing) warn(`${options.name} not read: ${(err as Error).message}`)
        failing = true
      }
    }
  })
}

/**
 * operationsMetrics adds what an operator watches on /metrics beyond request durations: build
 * info, the database pool, queue depth, age and dead letters per queue, outbox lag and cache hits.
 * Every label is bounded (job names are defined in code, states and results are fixed sets).
 */
export default fp(async function operationsMetrics (app) {
  const registry = app.metrics
  const warn = (message: string) => { app.log.warn(message) }
  const build = new Gauge({ name: 'backplane_build_info', help: 'Always 1: the running version and Node.js', labelNames: ['version', 'node_version'] as const, registers: [registry] })
  build.set({ version, node_version: process.versions.node }, 1)

  const pool = app.dbPool
  registry.registerMetric(new Gauge({
    name: 'backplane_db_pool_connections',
    help: 'Database pool connections on this node by state (in_use, idle)',
    labelNames: ['state'] as const,
    registers: [],
    collect () {
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount)
      this.set({ state: 'idle' }, pool.idleCount)
    }
  }))
  registry.registerMetric(new Gauge({ name: 'backplane_db_pool_waiting_requests', help: 'Queries waiting for a free pool connection on this node', registers: [], collect () { this.set(pool.waitingCount) } }))

  // One read of the queue's depths serves the three queue gauges of a scrape (prom-client collects
  // them concurrently): the read is shared while it is in flight, never reused after.
  let stats: Promise<Awaited<ReturnType<typeof app.queue.stats>>> | undefined
  const queueStats = () => {
    stats ??= app.queue.stats().finally(() => { setImmediate(() => { stats = undefined }) })
    return stats
  }
  scrapeGauge(registry, { name: 'backplane_queue_jobs', help: 'Jobs per queue by state: queued (due or scheduled), active (running), retry (waiting after a failure)', labelNames: ['queue', 'state'] as const }, async (g) => {
    g.reset()
    for (const q of await queueStats()) {
      g.set({ queue: q.name, state: 'queued' }, q.queued)
      g.set({ queue: q.name, state: 'active' }, q.active)
      g.set({ queue: q.name, state: 'retry' }, q.failed)
    }
  }, warn)
  scrapeGauge(registry, { name: 'backplane_queue_dead_letters', help: 'Dead letters per queue: jobs that failed their last attempt and wait for an operator', labelNames: ['queue'] as const }, async (g) => {
    g.reset()
    for (const q of await queueStats()) g.set({ queue: q.name }, q.deadLetters)
  }, warn)
  scrapeGauge(registry, { name: 'backplane_queue_oldest_job_age_seconds', help: 'Age of the oldest due job not yet taken, per queue (0 when none waits)', labelNames: ['queue'] as const }, async (g) => {
    g.reset()
    for (const q of await queueStats()) if (q.oldestDueSeconds !== undefined) g.set({ queue: q.name }, q.oldestDueSeconds)
  }, warn)

  scrapeGauge(registry, { name: 'backplane_outbox_lag_seconds', help: 'Age of the oldest committed event not yet published (0 when the outbox is drained)' }, async (g) => {
    const { rows } = await app.db.execute<{ lag: number | null, n: number }>(sql`SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS lag, count(*)::int AS n FROM outbox WHERE published_at IS NULL`)
    g.set(Math.max(0, rows[0]?.lag ?? 0))
  }, warn)
  scrapeGauge(registry, { name: 'backplane_outbox_unpublished_events', help: 'Committed events waiting for the relay' }, async (g) => {
    const { rows } = await app.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`)
    g.set(rows[0]?.n ?? 0)
  }, warn)

  // Two cache reads a request (session, principal): plain numbers here, handed to the counter when
  // scraped, cost less than a labelled inc() each (which hashes its labels every time).
  let hits = 0
  let misses = 0
  new Counter({ // eslint-disable-line no-new
    name: 'backplane_cache_requests_total',
    help: 'Cache reads on this node by result (hit, miss); the hit ratio is hit / (hit + miss)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect () {
      this.reset()
      this.inc({ result: 'hit' }, hits)
      this.inc({ result: 'miss' }, misses)
    }
  })
  app.cache.on('cache:hit', () => { hits++ })
  app.cache.on('cache:miss', () => { misses++ })
}, { name: 'operations-metrics', dependencies: ['metrics', 'db', 'queue', 'cache'] })
