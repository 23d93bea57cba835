import type { Actor } from '../../platform/auth.ts'
import type { Granted } from './access.ts'
import type { FileRow } from './table.ts'

/**
 * newFileRow is what every new file row starts with, whether its bytes come in one request or in
 * resumable chunks: its owner (from the access grant), its cleaned name and declared type, where its
 * bytes will be stored, and who uploads it (a user, or the agent holding the run).
 */
export function newFileRow (id: string, kind: FileRow['kind'], granted: Granted, actor: Actor, name: string, declared: string | undefined) {
  return {
    id,
    kind,
    projectId: granted.projectId,
    taskId: granted.taskId,
    executionId: granted.executionId,
    name,
    contentType: declared ?? 'application/octet-stream',
    storageKey: `files/${id.slice(-2)}/${id}`,
    uploadedBy: actor.agentId === undefined ? actor.userId : null,
    agentId: actor.agentId ?? null
  }
}
