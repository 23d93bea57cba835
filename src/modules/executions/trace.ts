import { eq } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { asTraceCarrier, tracing } from '../../platform/tracing.ts'
import { executions, type ExecutionRow } from './table.ts'

/** runTraceContext is what a new run stores: the trace it was created in (the scheduler's fire job, a run-now request, a retry). */
export function runTraceContext (): { traceContext: Record<string, string> } | Record<string, never> {
  const trace = tracing.capture()
  return trace ? { traceContext: { ...trace } } : {}
}

/**
 * inRunTrace runs a step of an agent's work on a run (claim, progress, completion) in a span of the
 * run's own trace, linked to the agent's request: a run's trace then goes from the scheduler to the
 * agent's last report, whichever nodes and requests served it. Without tracing it just runs `fn`.
 */
export function inRunTrace<T> (row: ExecutionRow, step: string, fn: () => Promise<T>): Promise<T> {
  const parent = asTraceCarrier(row.traceContext)
  if (!tracing.enabled || !parent) return fn()
  return tracing.span(`execution ${step}`, { parent, links: [tracing.capture()], attributes: { 'backplane.execution.id': row.id, 'backplane.task.id': row.taskId ?? '', 'backplane.execution.attempt': row.attempt } }, fn)
}

/**
 * runTraceparent is the `traceparent` of a run's trace, which the claim reply carries in a header
 * of that name (only while tracing is on): an agent that sends it back on its reports has its own
 * requests, and any spans of its own, in the run's trace.
 */
export async function runTraceparent (db: Database, id: string): Promise<string | null> {
  if (!tracing.enabled) return null
  const [row] = await db.select({ traceContext: executions.traceContext }).from(executions).where(eq(executions.id, id))
  return asTraceCarrier(row?.traceContext)?.traceparent ?? null
}
