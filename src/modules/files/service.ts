import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import { AppError } from '../../platform/errors.ts'
import type { Events } from '../../platform/events.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import type { ByteRange, Storage } from '../../platform/storage.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import { newId } from '../../lib/ids.ts'
import { createFileAccess, type FileOwners, type Granted } from './access.ts'
import { declaredType } from './content-type.ts'
import { fileErrors } from './errors.ts'
import { fileEvent } from './events.ts'
import { createIntake } from './intake.ts'
import { sanitiseFileName } from './names.ts'
import { newFileRow } from './new-row.ts'
import { createFilesRepository, type FileOwner } from './repository.ts'
import { createResumableUploads, type Declaration } from './resumable.ts'
import type { File, FileListQuery } from './schemas.ts'
import type { LinkSigner } from './signing.ts'
import { createSweeper } from './sweeper.ts'
import type { FileRow } from './table.ts'
import { toFile } from './view.ts'

/** FileLimits are the upload bounds and the link lifetime (FILES_* settings). */
export interface FileLimits { maxBytes: number, projectQuotaBytes: number, linkTtlSeconds: number, artifactRetentionDays: number, uploadTimeoutMs: number }

/** FilesDeps is what the files service is built from. */
export interface FilesDeps extends FileOwners {
  db: Database
  events: Events
  audit: SecurityEvents
  storage: Storage
  signer: LinkSigner
  limits: FileLimits
  log: FastifyBaseLogger
  cursors: CursorCodec
}

/** Upload is one streamed upload: the body is the file, never held whole in memory. */
export interface Upload { name: string, contentType: string | undefined, contentLength: number | undefined, body: Readable }

/** createFilesService holds the file rules: the owner's access, limits and quotas, checksums, type checks, signed links and deletion. */
export function createFilesService (deps: FilesDeps) {
  const { db, events, audit, storage, signer, limits, cursors } = deps
  const repo = createFilesRepository(db)
  const access = createFileAccess(deps)
  const sweeper = createSweeper({ db, events, storage, repo, log: deps.log, retentionDays: limits.artifactRetentionDays, uploadTimeoutMs: limits.uploadTimeoutMs })
  const resumable = createResumableUploads({ db, events, storage, repo, access, discard: sweeper.discard, limits, log: deps.log })

  async function store (granted: Granted, kind: FileRow['kind'], actor: Actor, upload: Upload): Promise<File> {
    const name = sanitiseFileName(upload.name)
    if (name === undefined) throw fileErrors.FILE_NAME_INVALID()
    const declared = declaredType(upload.contentType)
    const { projectId } = granted
    const room = projectId === null ? Infinity : limits.projectQuotaBytes - await repo.usedBytes(projectId)
    const quotaFull = () => fileErrors.FILE_QUOTA_EXCEEDED(`The project has ${Math.max(0, room)} bytes left of its ${limits.projectQuotaBytes} byte quota`)
    const tooLarge = () => fileErrors.FILE_TOO_LARGE(`The largest file accepted is ${limits.maxBytes} bytes`)
    const limit = Math.min(limits.maxBytes, room)
    const refusal = limits.maxBytes <= room ? tooLarge : quotaFull
    // Refused before a byte is read when the declared length already says no.
    if (upload.contentLength !== undefined && upload.contentLength > limit) throw refusal()

    const id = newId()
    const row = await repo.insert(newFileRow(id, kind, granted, actor, name, declared))
    try {
      const intake = createIntake({ limit, tooLarge: refusal, declared })
      // A client that hangs up mid-body errors the intake, which aborts the store.
      pipeline(upload.body, intake.stream, () => {})
      upload.body.once('aborted', () => { intake.stream.destroy(fileErrors.FILE_UPLOAD_INCOMPLETE()) })
      await storage.put(row.storageKey, intake.stream, declared ?? 'application/octet-stream')
      const measured = intake.result()
      const done = await db.transaction(async (tx) => {
        if (projectId !== null) {
          // Concurrent uploads each fitted alone; under the lock the total is counted once more.
          await repo.lockProject(projectId, tx)
          if (await repo.usedBytes(projectId, tx) + measured.size > limits.projectQuotaBytes) throw quotaFull()
        }
        const done = await repo.finish(id, measured, tx)
        if (!done) throw fileErrors.FILE_NOT_FOUND('The owner of this file was deleted during the upload')
        await events.record(fileEvent('file.uploaded', done), tx)
        return done
      })
      return toFile(done)
    } catch (err) {
      // The row is kept until its bytes are gone; the sweeper finishes what this cannot.
      await sweeper.discard(row).catch((cleanup: unknown) => { deps.log.warn({ err: cleanup, fileId: id }, 'refused upload left for the sweeper') })
      if (err instanceof AppError) throw err
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || upload.body.destroyed) throw fileErrors.FILE_UPLOAD_INCOMPLETE()
      throw err
    }
  }

  async function list (owner: FileOwner, query: FileListQuery) {
    const list = `files:${owner.kind}:${owner.id}`
    return cursors.pageOf(list, await repo.list(owner, query.limit, cursors.after(list, query.cursor)), query.limit, toFile)
  }

  async function readable (id: string): Promise<FileRow> {
    const row = await repo.find(id)
    if (!row || row.status !== 'active') throw fileErrors.FILE_NOT_FOUND()
    return row
  }

  return {
    /** upload stores a project's file or a task's attachment (editors). */
    async upload (actor: Actor, owner: { kind: 'project' | 'task', id: string }, upload: Upload): Promise<File> {
      return store(await access.owner(actor, owner, 'editor'), owner.kind, actor, upload)
    },
    /** uploadArtifact stores a run's artifact, from the agent holding the run. */
    uploadArtifact: async (actor: Actor, executionId: string, upload: Upload): Promise<File> =>
      store(await access.holder(actor, executionId), 'artifact', actor, upload),

    /** startUpload declares a resumable upload of a project's file or a task's attachment (editors). */
    async startUpload (actor: Actor, owner: { kind: 'project' | 'task', id: string }, declaration: Declaration) {
      return resumable.start(actor, await access.owner(actor, owner, 'editor'), owner.kind, declaration)
    },
    /** startArtifactUpload declares a resumable upload of a run's artifact, from the agent holding the run. */
    startArtifactUpload: async (actor: Actor, executionId: string, declaration: Declaration) =>
      resumable.start(actor, await access.holder(actor, executionId), 'artifact', declaration),
    /** uploadStatus and appendChunk: only the caller who started an upload sees or extends it. */
    uploadStatus: resumable.status,
    appendChunk: resumable.append,

    async list (actor: Actor, owner: FileOwner, query: FileListQuery) {
      await access.owner(actor, owner, 'viewer')
      return list(owner, query)
    },

    async get (actor: Actor, id: string): Promise<File> {
      const row = await repo.find(id)
      await access.file(actor, row, 'viewer')
      return toFile(row!)
    },

    /** download checks access for a caller with credentials and audits an admin's read of another's file; the bytes come from `open`. */
    async download (actor: Actor, id: string, context: AuditContext): Promise<FileRow> {
      const row = await repo.find(id)
      const granted = await access.file(actor, row, 'viewer')
      if (granted.admin && row!.uploadedBy !== actor.userId) {
        await audit.record(context, { action: 'file.downloaded', outcome: 'success', targetType: 'file', targetId: id, details: { projectId: row!.projectId, kind: row!.kind, name: row!.name } }, db)
      }
      return row!
    },

    /** link signs a download URL that works without credentials until it expires. */
    async link (actor: Actor, id: string, now = new Date()): Promise<{ url: string, expiresAt: string }> {
      await access.file(actor, await repo.find(id), 'viewer')
      const expires = Math.floor(now.getTime() / 1000) + limits.linkTtlSeconds
      return { url: `/api/v1/files/${id}/download?expires=${expires}&signature=${signer.sign(id, expires)}`, expiresAt: new Date(expires * 1000).toISOString() }
    },

    /** downloadSigned checks a signed link: tampered or expired is 403, a file deleted since is 404. */
    async downloadSigned (id: string, expires: number, signature: string, now = new Date()): Promise<FileRow> {
      const verdict = signer.check(id, expires, signature, now)
      if (verdict === 'invalid') throw fileErrors.FILE_LINK_INVALID()
      if (verdict === 'expired') throw fileErrors.FILE_LINK_EXPIRED()
      return readable(id)
    },

    /** open streams a file's bytes, or a range of them. */
    open: (row: FileRow, range?: ByteRange): Promise<Readable> => storage.get(row.storageKey, range),

    /** remove deletes a file (editors of its owner): the row is marked, its bytes removed, then the row; audited. */
    async remove (actor: Actor, id: string, context: AuditContext): Promise<void> {
      const row = await repo.find(id)
      await access.file(actor, row, 'editor')
      const [marked] = await db.transaction(async (tx) => {
        const marked = await repo.markDeleting([id], tx)
        for (const m of marked) await events.record(fileEvent('file.deleted', m), tx)
        await audit.record(context, { action: 'file.deleted', outcome: 'success', targetType: 'file', targetId: id, details: { projectId: row!.projectId, kind: row!.kind, name: row!.name } }, tx)
        return marked
      })
      if (marked) await sweeper.purge(marked).catch((err: unknown) => { deps.log.warn({ err, fileId: id }, 'file bytes left for the sweeper') })
    },

    /** sweep deletes the files whose owner is gone, expired artifacts and abandoned uploads, and finishes interrupted deletions. */
    sweep: sweeper.sweep
  }
}

/** FilesService is the files module's service. */
export type FilesService = ReturnType<typeof createFilesService>
