import { Readable, Transform, pipeline } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import { AppError } from '../../platform/errors.ts'
import type { Events } from '../../platform/events.ts'
import type { Storage } from '../../platform/storage.ts'
import { newId } from '../../lib/ids.ts'
import type { FileAccess, Granted } from './access.ts'
import { declaredType } from './content-type.ts'
import { fileErrors } from './errors.ts'
import { fileEvent } from './events.ts'
import { createIntake } from './intake.ts'
import { sanitiseFileName } from './names.ts'
import { newFileRow } from './new-row.ts'
import type { FilesRepository } from './repository.ts'
import type { UploadSession } from './schemas.ts'
import type { FileRow } from './table.ts'
import { toFile } from './view.ts'

/** ResumableDeps is what resumable uploads are built from (the files service's parts). */
export interface ResumableDeps {
  db: Database
  events: Events
  storage: Storage
  repo: FilesRepository
  access: FileAccess
  discard: (row: FileRow) => Promise<void>
  limits: { maxBytes: number, projectQuotaBytes: number }
  log: FastifyBaseLogger
}

/** Declaration is what a resumable upload starts from: the file's name, its whole length and its declared type. */
export interface Declaration { name: string, length: number, contentType?: string | undefined }

/** toSession is an upload's progress as the API returns it (the file once complete). */
export function toSession (row: FileRow): UploadSession {
  return {
    id: row.id,
    name: row.name,
    length: row.size,
    offset: row.uploadOffset ?? row.size,
    complete: row.status === 'active',
    url: `/api/v1/uploads/${row.id}`,
    file: row.status === 'active' ? toFile(row) : null
  }
}

/** offsetMismatch is the 409 for a chunk sent from the wrong offset; its Upload-Offset header says where to resume. */
function offsetMismatch (detail: string, offset: number, length: number): AppError {
  return fileErrors.FILE_UPLOAD_OFFSET_MISMATCH(detail, { headers: { 'upload-offset': String(offset), 'upload-length': String(length) } })
}

/** partLimit passes at most `room` bytes of a chunk: past the declared length it fails with 413. */
function partLimit (room: number): Transform {
  let seen = 0
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      seen += chunk.length
      if (seen > room) {
        done(fileErrors.FILE_TOO_LARGE(`The upload has ${room} bytes left of its declared length`))
        return
      }
      done(null, chunk)
    }
  })
}

/**
 * createResumableUploads: a large file sent in chunks over several requests (tus-style offsets), on
 * either storage backend. The declared length counts against FILES_MAX_BYTES and the project's
 * quota up front; each chunk is its own stored object, recorded only if the upload's offset did not
 * move meanwhile; the last chunk assembles them in order through the same type check and SHA-256
 * as a one-request upload. Abandoned uploads are swept like any upload that stopped.
 */
export function createResumableUploads ({ db, events, storage, repo, access, discard, limits, log }: ResumableDeps) {
  /** session finds an upload the caller started and may still write: anyone else's is 404. */
  async function session (actor: Actor, id: string): Promise<FileRow> {
    const row = await repo.find(id)
    const mine = row !== undefined && row.uploadOffset !== null && row.status !== 'deleting' &&
      (actor.agentId === undefined ? row.agentId === null && row.uploadedBy === actor.userId : row.agentId === actor.agentId)
    if (!mine) throw fileErrors.FILE_NOT_FOUND()
    const ownerId = { project: row.projectId, task: row.taskId, artifact: row.executionId }[row.kind]
    if (ownerId === null) throw fileErrors.FILE_NOT_FOUND()
    try {
      if (row.kind === 'artifact') await access.holder(actor, ownerId)
      else await access.owner(actor, { kind: row.kind, id: ownerId }, 'editor')
    } catch (err) {
      if (err instanceof AppError && err.status === 404) throw fileErrors.FILE_NOT_FOUND()
      throw err
    }
    return row
  }

  /** assemble streams the chunks in order through the type check and SHA-256 into the file's object, then activates it. */
  async function assemble (row: FileRow): Promise<FileRow> {
    const declared = row.contentType === 'application/octet-stream' ? undefined : row.contentType
    const intake = createIntake({ limit: row.size, tooLarge: () => fileErrors.FILE_TOO_LARGE(), declared })
    const parts = row.uploadParts
    async function * chunks () {
      for (const key of parts) yield * await storage.get(key)
    }
    pipeline(Readable.from(chunks()), intake.stream, () => {})
    try {
      await storage.put(row.storageKey, intake.stream, declared ?? 'application/octet-stream')
      const measured = intake.result()
      const done = await db.transaction(async (tx) => {
        const done = await repo.finish(row.id, measured, tx)
        if (!done) throw fileErrors.FILE_NOT_FOUND('The upload was deleted while its chunks were assembled')
        await events.record(fileEvent('file.uploaded', done), tx)
        return done
      })
      // The chunks stay listed on the row until their objects are gone: a crash here leaves them to the file's deletion.
      try {
        for (const key of parts) await storage.delete(key)
        await repo.clearParts(row.id)
      } catch (err) {
        log.warn({ err, fileId: row.id }, 'assembled chunks not deleted; they go with the file')
      }
      return { ...done, uploadParts: [] }
    } catch (err) {
      // Bytes that are not the declared type (415) end the upload: its chunks and row are discarded.
      await discard(row).catch((cleanup: unknown) => { log.warn({ err: cleanup, fileId: row.id }, 'refused upload left for the sweeper') })
      throw err
    }
  }

  return {
    /** start declares a resumable upload; its length is held against the limits and the quota from now on. */
    async start (actor: Actor, granted: Granted, kind: FileRow['kind'], declaration: Declaration): Promise<UploadSession> {
      const name = sanitiseFileName(declaration.name)
      if (name === undefined) throw fileErrors.FILE_NAME_INVALID()
      const declared = declaredType(declaration.contentType)
      if (declaration.length > limits.maxBytes) throw fileErrors.FILE_TOO_LARGE(`The largest file accepted is ${limits.maxBytes} bytes`)
      const { projectId } = granted
      const id = newId()
      const row = await db.transaction(async (tx) => {
        if (projectId !== null) {
          await repo.lockProject(projectId, tx)
          const room = limits.projectQuotaBytes - await repo.usedBytes(projectId, tx)
          if (declaration.length > room) throw fileErrors.FILE_QUOTA_EXCEEDED(`The project has ${Math.max(0, room)} bytes left of its ${limits.projectQuotaBytes} byte quota`)
        }
        return repo.insert({ ...newFileRow(id, kind, granted, actor, name, declared), size: declaration.length, uploadOffset: 0 }, tx)
      })
      return toSession(row)
    },

    /** status is where an upload stands, so a client knows where to resume. */
    status: async (actor: Actor, id: string): Promise<UploadSession> => toSession(await session(actor, id)),

    /**
     * append stores one chunk at `offset`. The chunk is listed on the row before it is written and
     * recorded only if the offset still matches; otherwise (or when the body fails) it is deleted.
     */
    async append (actor: Actor, id: string, offset: number, body: Readable): Promise<UploadSession> {
      let row = await session(actor, id)
      const current = row.uploadOffset ?? row.size
      if (row.status === 'active' || offset !== current) {
        body.resume()
        throw offsetMismatch(`The upload is at offset ${current} of ${row.size}; send the chunk from there`, current, row.size)
      }
      if (offset < row.size) {
        const key = `${row.storageKey}.part-${offset}-${newId()}`
        if (!await repo.addPending(id, key)) throw fileErrors.FILE_NOT_FOUND()
        const limited = partLimit(row.size - offset)
        pipeline(body, limited, () => {})
        body.once('aborted', () => { limited.destroy(fileErrors.FILE_UPLOAD_INCOMPLETE()) })
        let committed: FileRow | undefined
        let failure: unknown
        try {
          const stored = await storage.put(key, limited, 'application/octet-stream')
          if (stored.size > 0) committed = await repo.commitPart(id, offset, stored.size, key)
        } catch (err) {
          failure = err
        }
        if (!committed) {
          await storage.delete(key).then(() => repo.dropPending(id, key)).catch((err: unknown) => { log.warn({ err, fileId: id }, 'chunk left for the sweeper') })
          if (failure instanceof AppError) throw failure
          if (failure !== undefined) throw fileErrors.FILE_UPLOAD_INCOMPLETE()
          const now = await repo.find(id)
          if (now?.uploadOffset === offset) return toSession(now)
          throw offsetMismatch(`Another chunk was stored at offset ${offset} meanwhile`, now?.uploadOffset ?? row.size, row.size)
        }
        row = committed
      }
      // The last byte arrived (or an assembly cut short is retried with an empty chunk at the end).
      return toSession(row.uploadOffset === row.size ? await assemble(row) : row)
    }
  }
}

/** ResumableUploads is what createResumableUploads returns. */
export type ResumableUploads = ReturnType<typeof createResumableUploads>
