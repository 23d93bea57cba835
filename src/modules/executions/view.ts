import type { Static } from 'typebox'
import type { ExecutionSchema, ExecutionSummarySchema } from './schemas.ts'
import type { ExecutionRow } from './table.ts'

/** Execution is the public view of a run. */
export type Execution = Static<typeof ExecutionSchema>
/** ExecutionSummary is a run in a list. */
export type ExecutionSummary = Static<typeof ExecutionSummarySchema>

const iso = (d: Date | null): string | null => d?.toISOString() ?? null

/** toExecutionSummary shapes a run for lists. */
export function toExecutionSummary (row: ExecutionRow): ExecutionSummary {
  return {
    id: row.id,
    taskId: row.taskId,
    projectId: row.projectId,
    taskName: row.taskName,
    trigger: row.trigger,
    slot: iso(row.slot),
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    retryOf: row.retryOf,
    status: row.status,
    target: { agentId: row.targetAgentId, labels: row.targetLabels },
    timeoutSeconds: row.timeoutSeconds,
    agentId: row.agentId,
    availableAt: row.availableAt.toISOString(),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    leaseUntil: iso(row.leaseUntil),
    durationMs: row.startedAt && row.finishedAt ? row.finishedAt.getTime() - row.startedAt.getTime() : null,
    progress: row.progress,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}

/** toExecution shapes a run with its payload, result and logs. */
export function toExecution (row: ExecutionRow): Execution {
  return { ...toExecutionSummary(row), payload: row.payload, result: row.result ?? null, logs: row.logs }
}
