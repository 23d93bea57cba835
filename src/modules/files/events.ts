import type { DomainEvent } from '../../platform/events.ts'
import type { FileRow } from './table.ts'
import { fileFacts } from './view.ts'

/** FileEventType names what happened to a file. */
export type FileEventType = 'file.uploaded' | 'file.deleted'

/**
 * fileEvent describes a file's change on its project's channel (`admin` once the project is gone).
 * A run's artifact is an event of the run (`execution:<id>`), so it is in the run's history, in order.
 */
export function fileEvent (type: FileEventType, row: FileRow): DomainEvent {
  const channels = [
    ...(row.projectId ? [`project:${row.projectId}`] : ['admin']),
    ...(row.agentId ? [`agent:${row.agentId}`] : [])
  ]
  return {
    type,
    aggregate: row.kind === 'artifact' && row.executionId ? `execution:${row.executionId}` : `file:${row.id}`,
    channels,
    data: { ...fileFacts(row), sha256: row.sha256 }
  }
}
