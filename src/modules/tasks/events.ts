import type { DomainEvent } from '../../platform/events.ts'
import type { TaskRow } from './table.ts'

/** TaskEventType names what happened to a task. */
export type TaskEventType = 'task.created' | 'task.updated' | 'task.deleted' | 'task.paused' | 'task.resumed'

/** taskEvent describes a task's change on its project's channel (the payload is left out: it may be large). */
export function taskEvent (type: TaskEventType, task: TaskRow): DomainEvent {
  return {
    type,
    aggregate: `task:${task.id}`,
    channels: [`project:${task.projectId}`],
    data: {
      id: task.id,
      projectId: task.projectId,
      name: task.name,
      schedule: task.schedule,
      timezone: task.timezone,
      enabled: task.enabled,
      nextRunAt: task.nextRunAt?.toISOString() ?? null
    }
  }
}
