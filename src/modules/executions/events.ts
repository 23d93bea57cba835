import type { DomainEvent } from '../../platform/events.ts'
import type { ExecutionRow } from './table.ts'

/** ExecutionEventType names what happened to a run. */
export type ExecutionEventType = 'execution.queued' | 'execution.started' | 'execution.progress' | 'execution.completed' | 'execution.failed' | 'execution.timed_out' | 'execution.cancelled'

const ENDED: Record<string, ExecutionEventType> = { succeeded: 'execution.completed', failed: 'execution.failed', timed_out: 'execution.timed_out', cancelled: 'execution.cancelled' }

/** executionEvent describes a run's change for its project's and its agent's channels (no payload, result or logs: they may be large or private). */
export function executionEvent (type: ExecutionEventType, row: ExecutionRow): DomainEvent {
  const channels = [
    ...(row.projectId ? [`project:${row.projectId}`] : ['admin']),
    ...(row.agentId ? [`agent:${row.agentId}`] : [])
  ]
  return {
    type,
    aggregate: `execution:${row.id}`,
    channels,
    data: {
      id: row.id,
      taskId: row.taskId,
      projectId: row.projectId,
      taskName: row.taskName,
      status: row.status,
      attempt: row.attempt,
      agentId: row.agentId,
      progress: row.progress,
      error: row.error,
      startedAt: row.startedAt?.toISOString() ?? null,
      finishedAt: row.finishedAt?.toISOString() ?? null
    }
  }
}

/** endEvent is the event of a run that reached an end state. */
export function endEvent (row: ExecutionRow): DomainEvent {
  return executionEvent(ENDED[row.status] ?? 'execution.failed', row)
}
