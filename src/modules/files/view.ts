import type { File } from './schemas.ts'
import type { FileRow } from './table.ts'

/** toFile is the only way a stored file row leaves the module (its storage key stays inside). */
export function toFile (row: FileRow): File {
  return {
    id: row.id,
    kind: row.kind,
    projectId: row.projectId,
    taskId: row.taskId,
    executionId: row.executionId,
    name: row.name,
    contentType: row.contentType,
    size: row.size,
    sha256: row.sha256 ?? '',
    uploadedBy: row.uploadedBy,
    agentId: row.agentId,
    createdAt: row.createdAt.toISOString()
  }
}
