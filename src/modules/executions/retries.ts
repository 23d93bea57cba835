import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import { executionEvent } from './events.ts'
import type { ExecutionsRepository } from './repository.ts'
import type { ExecutionRow } from './table.ts'

/**
 * createRetries makes retryIfAllowed: it queues the next attempt of a run that failed or timed out,
 * after its back-off (doubling each time), in the transaction that ended the run.
 */
export function createRetries ({ repo, events }: { repo: ExecutionsRepository, events: Events }) {
  return async function retryIfAllowed (row: ExecutionRow, tx: Database): Promise<void> {
    if (row.attempt >= row.maxAttempts || row.taskId === null) return
    const delayMs = row.backoffSeconds * 1000 * 2 ** (row.attempt - 1)
    const retry = await repo.insert({
      taskId: row.taskId,
      projectId: row.projectId,
      taskName: row.taskName,
      trigger: 'retry',
      slot: row.slot,
      attempt: row.attempt + 1,
      maxAttempts: row.maxAttempts,
      backoffSeconds: row.backoffSeconds,
      retryOf: row.id,
      payload: row.payload,
      targetAgentId: row.targetAgentId,
      targetLabels: row.targetLabels,
      timeoutSeconds: row.timeoutSeconds,
      availableAt: new Date(Date.now() + delayMs),
      requestedBy: row.requestedBy,
      // Every attempt stays in the run's trace.
      traceContext: row.traceContext
    }, tx)
    if (retry) await events.record(executionEvent('execution.queued', retry), tx)
  }
}
