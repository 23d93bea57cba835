import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import type { Storage } from '../../platform/storage.ts'
import { fileEvent } from './events.ts'
import type { FilesRepository } from './repository.ts'
import type { FileRow } from './table.ts'

/** STALE_MARGIN_MS: an upload row untouched this long past FILES_UPLOAD_TIMEOUT_MS belongs to a crashed node or request. */
const STALE_MARGIN_MS = 10 * 60 * 1000
const BATCH = 100

/**
 * createSweeper deletes files in the one safe order: the row is marked `deleting` (with its
 * `file.deleted` event), the bytes are removed, and only then the row. A crash between any two
 * steps leaves a `deleting` row, which the next sweep finishes; no object is ever left unlisted.
 */
export function createSweeper ({ db, events, storage, repo, log, retentionDays, uploadTimeoutMs }: { db: Database, events: Events, storage: Storage, repo: FilesRepository, log: FastifyBaseLogger, retentionDays: number, uploadTimeoutMs: number }) {
  /** purge removes a `deleting` row's bytes (a resumable upload's chunks too), then the row. */
  async function purge (row: FileRow): Promise<void> {
    for (const key of [...row.uploadParts, ...row.uploadPending]) await storage.delete(key)
    await storage.delete(row.storageKey)
    await repo.remove(row.id)
  }

  return {
    purge,

    /** discard drops an upload that did not finish (no event: it never existed for anyone). */
    async discard (row: FileRow): Promise<void> {
      const [marked] = await repo.markDeleting([row.id])
      await purge(marked ?? { ...row, status: 'deleting' })
    },

    async sweep (now: Date = new Date()): Promise<{ marked: number, deleted: number }> {
      const artifactsBefore = new Date(now.getTime() - retentionDays * 86_400_000)
      const marked = await db.transaction(async (tx) => {
        const ids = await repo.claimOrphans(artifactsBefore, new Date(now.getTime() - uploadTimeoutMs - STALE_MARGIN_MS), BATCH, tx)
        const rows = await repo.markDeleting(ids, tx)
        for (const row of rows) if (row.sha256 !== null) await events.record(fileEvent('file.deleted', row), tx)
        return rows.length
      })
      let deleted = 0
      for (const row of await repo.deleting(BATCH)) {
        try {
          await purge(row)
          deleted++
        } catch (err) {
          log.warn({ err, fileId: row.id }, 'file bytes not deleted; the next sweep retries')
        }
      }
      return { marked, deleted }
    }
  }
}
