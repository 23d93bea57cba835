import type { File } from './schemas.ts'
import type { FileRow } from './table.ts'

/** fileFacts are what both a file's view and its events say of it (never its storage key). */
export function fileFacts (row: FileRow) {
  return {
    id: row.id,
    kind: row.kind,
    projectId: row.projectId,
    taskId: row.taskId,
    executionId: row.executionId,
    name: row.name,
    contentType: row.contentType,
    size: row.size
  }
}

/** toFile is the only way a stored file row leaves the module (its storage key stays inside). */
export function toFile (row: FileRow): File {
  return {
    ...fileFacts(row),
    sha256: row.sha256 ?? '',
    uploadedBy: row.uploadedBy,
    agentId: row.agentId,
    createdAt: row.createdAt.toISOString()
  }
}
