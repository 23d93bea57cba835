import type { FastifyInstance } from 'fastify'
import { sql } from 'drizzle-orm'
import { Counter } from 'prom-client'
import { scrapeGauge } from '../../platform/operations-metrics.ts'
import { executions } from './table.ts'

const ENDS: Record<string, string> = { 'execution.completed': 'succeeded', 'execution.failed': 'failed', 'execution.timed_out': 'timed_out', 'execution.cancelled': 'cancelled' }

/**
 * registerExecutionMetrics adds the runs' metrics: runs waiting and running now, and finished runs by
 * status (how late a slot fired is the tasks module's, where it fires).
 */
export function registerExecutionMetrics (app: FastifyInstance): void {
  const registers = [app.metrics]
  scrapeGauge(app.metrics, { name: 'backplane_executions', help: 'Runs by current status (queued, running)', labelNames: ['status'] as const }, async (g) => {
    const { rows } = await app.db.execute<{ status: string, n: number }>(sql`SELECT status, count(*)::int AS n FROM ${executions} WHERE status IN ('queued', 'running') GROUP BY status`)
    for (const status of ['queued', 'running']) g.set({ status }, rows.find((r) => r.status === status)?.n ?? 0)
  }, (message) => { app.log.warn(message) })
  const finished = new Counter({ name: 'backplane_executions_finished_total', help: 'Runs that reached an end, by status (counted once across nodes, when the event is published)', labelNames: ['status'] as const, registers })
  app.events.onPublish(async (event) => {
    const status = ENDS[event.type]
    if (status !== undefined) finished.inc({ status })
  })
}
