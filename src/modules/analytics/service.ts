import type { FastifyInstance } from 'fastify'
import { EXECUTION_STATUSES } from '../executions/index.ts'
import type { HttpWindow } from './http-window.ts'
import type { Presence } from './presence.ts'
import type { AnalyticsRepository } from './repository.ts'
import type { ExecutionSeries, Overview, UserSeries } from './schemas.ts'

const DAY_MS = 86_400_000

/** AnalyticsDeps are what the figures are read from: the queries, this node's request window and the platform's health and queue. */
export interface AnalyticsDeps {
  repo: AnalyticsRepository
  http: HttpWindow
  /** presence lists the other live nodes (each node's row in `nodes`). */
  presence: Pick<Presence, 'instance' | 'live'>
  app: Pick<FastifyInstance, 'healthDetails' | 'queue' | 'breakers'>
  /** cacheMs is how long an answer is reused: a console polling every few seconds costs one query per period. */
  cacheMs?: number
  now?: () => number
}

/** createAnalyticsService computes the console's figures, each answer kept briefly so polling consoles share it. */
export function createAnalyticsService ({ repo, http, app, presence, cacheMs = 10_000, now = Date.now }: AnalyticsDeps) {
  const kept = new Map<string, { until: number, value: Promise<unknown> }>()
  function cached<T> (key: string, compute: () => Promise<T>): Promise<T> {
    const at = now()
    const hit = kept.get(key)
    if (hit && hit.until > at) return hit.value as Promise<T>
    const value = compute()
    kept.set(key, { until: at + cacheMs, value })
    // A failed computation is not kept: the next call tries again.
    value.catch(() => { kept.delete(key) })
    return value
  }

  return {
    /** overview is the live nodes, this node's traffic, the queue, agents, the last 24 h of runs and each dependency. */
    overview: (): Promise<Overview> => cached('overview', async () => {
      const since = new Date(now() - DAY_MS)
      const [details, figures, queues, agentsOnline, byStatus, live] = await Promise.all([
        app.healthDetails(), http.figures(), app.queue.stats(), repo.agentsOnline(), repo.executionsByStatus(since), presence.live()
      ])
      const executions24h: Record<string, number> = Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0]))
      for (const { status, count } of byStatus) executions24h[status] = count
      const sum = (pick: (q: typeof queues[number]) => number) => queues.reduce((n, q) => n + pick(q), 0)
      return {
        generatedAt: new Date(now()).toISOString(),
        // This node as it is now (listed even before its first beat, or when not listening), then the others that beat lately.
        nodes: [
          { id: details.node.id, instance: presence.instance, version: details.version, uptimeSeconds: details.node.uptimeSeconds, ready: details.status === 'ok' || details.status === 'degraded', seenSecondsAgo: 0, answering: true },
          ...live.filter((n) => n.instance !== presence.instance).map((n) => ({ ...n, answering: false }))
        ],
        http: figures,
        queue: { depth: sum((q) => q.queued), active: sum((q) => q.active), failed: sum((q) => q.failed), deadLetters: sum((q) => q.deadLetters) },
        agentsOnline,
        executions24h,
        dependencies: Object.entries(details.checks).map(([name, c]) => ({ name, state: c.status, latencyMs: c.ms, critical: c.critical })),
        breakers: Object.entries(app.breakers.notClosed()).map(([name, state]) => ({ name, state }))
      }
    }),

    /** executions counts runs by status per hour (1–2 days) or per day (longer), over the last `days` days. */
    executions: (days: number): Promise<ExecutionSeries> => cached(`executions:${days}`, async () => {
      const interval = days <= 2 ? 'hour' as const : 'day' as const
      const rows = await repo.executionBuckets(new Date(now() - days * DAY_MS), interval)
      return { interval, buckets: rows.map((r) => ({ start: r.start.toISOString(), status: r.status, count: r.count })) }
    }),

    /** users is sign-ups and active users per UTC day over the last `days` days, today included. */
    users: (days: number): Promise<UserSeries> => cached(`users:${days}`, async () => {
      // Whole days: from the start of the first day of the range.
      return { days: await repo.usersPerDay(new Date(now() - (days - 1) * DAY_MS)) }
    })
  }
}

/** AnalyticsService is the analytics module's service. */
export type AnalyticsService = ReturnType<typeof createAnalyticsService>
