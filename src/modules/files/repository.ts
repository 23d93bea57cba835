import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { files, type FileRow } from './table.ts'

/** FileOwner names what a list is of: a project's own files, a task's attachments or a run's artifacts. */
export type FileOwner = { kind: 'project', id: string } | { kind: 'task', id: string } | { kind: 'artifact', id: string }

const ownerColumn = { project: files.projectId, task: files.taskId, artifact: files.executionId } as const

/** createFilesRepository holds the files queries: Drizzle only, no rules. */
export function createFilesRepository (db: Database) {
  return {
    async insert (values: typeof files.$inferInsert, tx: Database = db): Promise<FileRow> {
      const [row] = await tx.insert(files).values(values).returning()
      return row!
    },
    async find (id: string, tx: Database = db): Promise<FileRow | undefined> {
      const [row] = await tx.select().from(files).where(eq(files.id, id))
      return row
    },
    /** finish makes an uploading row active with what the upload measured; undefined when the row left `uploading` meanwhile. */
    async finish (id: string, values: { size: number, sha256: string, contentType: string }, tx: Database): Promise<FileRow | undefined> {
      const [row] = await tx.update(files).set({ ...values, status: 'active' }).where(and(eq(files.id, id), eq(files.status, 'uploading'))).returning()
      return row
    },
    /** addPending lists a chunk key before it is written; undefined when the upload is no longer in progress. */
    async addPending (id: string, key: string): Promise<FileRow | undefined> {
      const [row] = await db.update(files).set({ uploadPending: sql`array_append(${files.uploadPending}, ${key})` })
        .where(and(eq(files.id, id), eq(files.status, 'uploading'))).returning()
      return row
    },
    /**
     * commitPart records a written chunk only if the upload is still at `offset` (one conditional
     * UPDATE: of two chunks for the same offset, the second finds the offset moved); undefined otherwise.
     */
    async commitPart (id: string, offset: number, size: number, key: string): Promise<FileRow | undefined> {
      const [row] = await db.update(files).set({
        uploadOffset: offset + size,
        uploadParts: sql`array_append(${files.uploadParts}, ${key})`,
        uploadPending: sql`array_remove(${files.uploadPending}, ${key})`
      }).where(and(eq(files.id, id), eq(files.status, 'uploading'), eq(files.uploadOffset, offset))).returning()
      return row
    },
    /** dropPending forgets a chunk key whose object was deleted (a chunk that failed or lost the race). */
    async dropPending (id: string, key: string): Promise<void> {
      await db.update(files).set({ uploadPending: sql`array_remove(${files.uploadPending}, ${key})` }).where(eq(files.id, id))
    },
    /** clearParts forgets an assembled upload's chunks once their objects are deleted. */
    async clearParts (id: string): Promise<void> {
      await db.update(files).set({ uploadParts: [] }).where(eq(files.id, id))
    },
    /** markDeleting moves rows to `deleting` (from any state) and returns those it moved. */
    async markDeleting (ids: string[], tx: Database = db): Promise<FileRow[]> {
      if (ids.length === 0) return []
      return tx.update(files).set({ status: 'deleting' }).where(and(inArray(files.id, ids), sql`${files.status} <> 'deleting'`)).returning()
    },
    async remove (id: string, tx: Database = db): Promise<void> {
      await tx.delete(files).where(and(eq(files.id, id), eq(files.status, 'deleting')))
    },
    async list (owner: FileOwner, limit: number, cursor?: Cursor): Promise<FileRow[]> {
      const where: SQL[] = [eq(files.kind, owner.kind), eq(ownerColumn[owner.kind], owner.id), eq(files.status, 'active')]
      if (cursor) {
        const at = new Date(cursor.at)
        where.push(or(lt(files.createdAt, at), and(eq(files.createdAt, at), lt(files.id, cursor.id)))!)
      }
      return db.select().from(files).where(and(...where)).orderBy(desc(files.createdAt), desc(files.id)).limit(limit + 1)
    },
    /** lockProject serialises the quota checks of one project's uploads until the transaction ends. */
    async lockProject (projectId: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`files:${projectId}`}, 0))`)
    },
    /** usedBytes is what a project's files hold, uploads in progress and deletions not yet done included. */
    async usedBytes (projectId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: sql<string>`coalesce(sum(${files.size}), 0)` }).from(files).where(eq(files.projectId, projectId))
      return Number(row?.n ?? 0)
    },
    /**
     * claimOrphans picks rows the sweeper must delete: their owner is gone, they are artifacts past
     * retention, or an upload that stopped long ago. SKIP LOCKED: each node takes different rows.
     */
    async claimOrphans (artifactsBefore: Date, uploadsBefore: Date, limit: number, tx: Database): Promise<string[]> {
      const orphan = or(
        and(eq(files.kind, 'project'), isNull(files.projectId)),
        and(eq(files.kind, 'task'), isNull(files.taskId)),
        and(eq(files.kind, 'artifact'), or(isNull(files.executionId), lt(files.createdAt, artifactsBefore))),
        and(eq(files.status, 'uploading'), lt(files.updatedAt, uploadsBefore))
      )
      const rows = await tx.select({ id: files.id }).from(files)
        .where(and(sql`${files.status} <> 'deleting'`, orphan)).limit(limit).for('update', { skipLocked: true })
      return rows.map((r) => r.id)
    },
    /** deleting lists rows whose bytes are to be removed, oldest first (a crash may have stopped their deletion). */
    async deleting (limit: number): Promise<FileRow[]> {
      return db.select().from(files).where(eq(files.status, 'deleting')).orderBy(files.updatedAt).limit(limit)
    }
  }
}

/** FilesRepository is what createFilesRepository returns. */
export type FilesRepository = ReturnType<typeof createFilesRepository>
