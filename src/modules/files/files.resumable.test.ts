import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { startTestS3, type TestS3 } from '../../../test/helpers/s3.ts'
import { asAgent, makeMember, makeProject, makeTask, registerAgent, runNow } from '../../../test/helpers/work.ts'
import { createStorage } from '../../platform/storage.ts'
import type { Storage } from '../../platform/storage.ts'
import { files } from './table.ts'

const QUOTA = 4 * 1024 * 1024
const MAX = 3 * 1024 * 1024
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const OCTETS = 'application/offset+octet-stream'

for (const driver of ['local', 's3'] as const) {
  describe(`resumable uploads (${driver} storage)`, () => {
    let t: TestApp
    let owner: TestUser
    let projectId: string
    let dataDir: string
    let s3: TestS3 | undefined
    let storage: Storage
    let port: number

    const start = (body: Record<string, unknown>, user = owner, project = projectId) =>
      t.app.inject(as(user, { method: 'POST', url: `/api/v1/projects/${project}/uploads`, payload: body }))
    const patch = (id: string, offset: number, chunk: Buffer, user = owner, type = OCTETS) =>
      t.app.inject(as(user, { method: 'PATCH', url: `/api/v1/uploads/${id}`, headers: { 'upload-offset': String(offset), 'content-type': type }, payload: chunk }))
    const head = (id: string, user = owner) => t.app.inject(as(user, { method: 'HEAD', url: `/api/v1/uploads/${id}` }))
    const rowOf = async (id: string) => (await t.app.db.select().from(files).where(eq(files.id, id)))[0]

    /** dropMidChunk sends a chunk's head and part of its body over a real connection, then drops the connection. */
    function dropMidChunk (id: string, offset: number, chunk: Buffer, sent: number): Promise<void> {
      return new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1')
        socket.on('error', () => {})
        socket.once('connect', () => {
          socket.write(`PATCH /api/v1/uploads/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.accessToken}\r\n` +
            `Content-Type: ${OCTETS}\r\nUpload-Offset: ${offset}\r\nContent-Length: ${chunk.length}\r\n\r\n`)
          socket.write(chunk.subarray(0, sent), () => { setTimeout(() => { socket.destroy(); resolve() }, 300) })
        })
      })
    }

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'bp-files-resumable-'))
      if (driver === 's3') s3 = await startTestS3()
      const env = { DATA_DIR: dataDir, FILES_MAX_BYTES: String(MAX), FILES_PROJECT_QUOTA_BYTES: String(QUOTA), ...(s3 ? { STORAGE_URL: s3.storageUrl } : {}) }
      t = await createTestApp({ env })
      // A second adapter over the same store: what the app stored (or did not delete) is visible here.
      storage = await createStorage(t.app.config)
      owner = await makeUser(t.app)
      projectId = await makeProject(t.app, owner)
      await t.app.listen({ host: '127.0.0.1', port: 0 })
      const address = t.app.server.address()
      port = typeof address === 'object' && address !== null ? address.port : 0
    })
    afterAll(async () => {
      await storage.close()
      await t.close()
      await s3?.close()
      await rm(dataDir, { recursive: true, force: true })
    })

    it('resumes an upload whose connection dropped mid-chunk from HEAD\'s Upload-Offset, and completes it with the right SHA-256', async () => {
      const bytes = Buffer.from(Array.from({ length: 1_500_000 }, (_, i) => (i * 7) % 251))
      const started = await start({ name: 'big.bin', length: bytes.length })
      expect(started.statusCode, started.body).toBe(201)
      const { id, url } = started.json()
      expect(started.headers.location).toBe(url)
      expect(started.headers['upload-offset']).toBe('0')
      // Declared up front: the quota counts the whole length before a byte arrives.
      expect((await rowOf(id))?.size).toBe(bytes.length)

      const first = await patch(id, 0, bytes.subarray(0, 500_000))
      expect(first.statusCode, first.body).toBe(200)
      expect(first.headers['upload-offset']).toBe('500000')

      // The second chunk is cut after 200 kB: nothing of it is kept.
      await dropMidChunk(id, 500_000, bytes.subarray(500_000), 200_000)
      await expect.poll(async () => (await rowOf(id))?.uploadPending, { timeout: 30_000, interval: 200 }).toEqual([])
      const status = await head(id)
      expect(status.statusCode).toBe(200)
      expect(status.headers['upload-offset']).toBe('500000')
      expect(status.headers['upload-length']).toBe(String(bytes.length))

      const offset = Number(status.headers['upload-offset'])
      const rest = await patch(id, offset, bytes.subarray(offset))
      expect(rest.statusCode, rest.body).toBe(200)
      expect(rest.json()).toMatchObject({ complete: true, offset: bytes.length, file: { id, name: 'big.bin', size: bytes.length, sha256: sha256(bytes), contentType: 'application/octet-stream' } })
      const down = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/files/${id}/content` }))
      expect(down.rawPayload.equals(bytes)).toBe(true)
      // The chunks are deleted once assembled.
      const row = (await rowOf(id))!
      expect(row.uploadParts).toEqual([])
      expect(row.status).toBe('active')
    }, 120_000)

    it('refuses a chunk from the wrong offset with 409 and the current Upload-Offset, and keeps nothing of it', async () => {
      const { id } = (await start({ name: 'offsets.txt', length: 10, contentType: 'text/plain' })).json()
      expect((await patch(id, 0, Buffer.from('hello'))).statusCode).toBe(200)
      for (const wrong of [0, 3, 7]) {
        const res = await patch(id, wrong, Buffer.from('world'))
        expect(res.statusCode).toBe(409)
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(res.json().code).toBe('FILE_UPLOAD_OFFSET_MISMATCH')
        expect(res.headers['upload-offset']).toBe('5')
      }
      expect((await rowOf(id))!.uploadParts).toHaveLength(1)
      // Past the declared length: 413, and the offset stays.
      const over = await patch(id, 5, Buffer.from('world and more'))
      expect(over.statusCode).toBe(413)
      expect((await head(id)).headers['upload-offset']).toBe('5')
      // Not the chunk media type: 415.
      expect((await patch(id, 5, Buffer.from('world'), owner, 'text/plain')).statusCode).toBe(415)
      expect((await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/uploads/${id}`, headers: { 'content-type': OCTETS }, payload: 'world' }))).statusCode).toBe(400)
      const done = await patch(id, 5, Buffer.from('world'))
      expect(done.json()).toMatchObject({ complete: true, file: { contentType: 'text/plain', sha256: sha256(Buffer.from('helloworld')) } })
      expect((await patch(id, 10, Buffer.alloc(0))).statusCode).toBe(409)
    })

    it('hides an upload from everyone but the one who started it: 404 (AZ-01)', async () => {
      const { id } = (await start({ name: 'mine.txt', length: 4 })).json()
      const editor = await makeMember(t.app, owner, projectId, 'editor')
      const stranger = await makeUser(t.app)
      for (const other of [editor, stranger]) {
        expect((await head(id, other)).statusCode).toBe(404)
        const res = await patch(id, 0, Buffer.from('evil'), other)
        expect(res.statusCode).toBe(404)
        expect(res.json().code).toBe('FILE_NOT_FOUND')
      }
      expect((await start({ name: 'x', length: 4 }, stranger)).statusCode).toBe(404)
      expect((await head(id)).headers['upload-offset']).toBe('0')
    })

    it('lets the agent holding a run upload an artifact in chunks; another agent or the run\'s user gets 404', async () => {
      const agent = await registerAgent(t.app, owner, { projectId })
      const other = await registerAgent(t.app, owner, { projectId })
      const runId = await runNow(t.app, owner, (await makeTask(t.app, owner, projectId)).id)
      await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
      expect((await t.app.inject(asAgent(other, { method: 'POST', url: `/api/v1/executions/${runId}/uploads`, payload: { name: 'x.log', length: 6 } }))).statusCode).toBe(404)
      const started = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${runId}/uploads`, payload: { name: 'out.log', length: 6 } }))
      expect(started.statusCode, started.body).toBe(201)
      const { id } = started.json()
      const chunk = (who: { apiKey: string }, offset: number, body: string) =>
        t.app.inject(asAgent(who, { method: 'PATCH', url: `/api/v1/uploads/${id}`, headers: { 'upload-offset': String(offset), 'content-type': OCTETS }, payload: body }))
      expect((await chunk(other, 0, 'log')).statusCode).toBe(404)
      expect((await patch(id, 0, Buffer.from('log'))).statusCode).toBe(404)
      expect((await chunk(agent, 0, 'log')).statusCode).toBe(200)
      const done = await chunk(agent, 3, 'ged')
      expect(done.json()).toMatchObject({ complete: true, file: { kind: 'artifact', executionId: runId, sha256: sha256(Buffer.from('logged')) } })
    })

    it('counts the declared length against the quota and FILES_MAX_BYTES before a byte arrives (413)', async () => {
      const project = await makeProject(t.app, owner)
      const tooBig = await start({ name: 'huge', length: MAX + 1 }, owner, project)
      expect(tooBig.statusCode).toBe(413)
      expect(tooBig.json().code).toBe('FILE_TOO_LARGE')
      expect((await start({ name: 'a', length: MAX }, owner, project)).statusCode).toBe(201)
      const full = await start({ name: 'b', length: QUOTA - MAX + 1 }, owner, project)
      expect(full.statusCode).toBe(413)
      expect(full.json().code).toBe('FILE_QUOTA_EXCEEDED')
      expect((await start({ name: '../', length: 1 }, owner, project)).statusCode).toBe(400)
      expect((await start({ name: 'a', length: 0 }, owner, project)).statusCode).toBe(400)
    })

    it('sweeps an abandoned upload: its chunks, then its row', async () => {
      const { id } = (await start({ name: 'abandoned.bin', length: 100 })).json()
      expect((await patch(id, 0, Buffer.alloc(40, 1))).statusCode).toBe(200)
      expect((await patch(id, 40, Buffer.alloc(30, 2))).statusCode).toBe(200)
      const parts = (await rowOf(id))!.uploadParts
      expect(parts).toHaveLength(2)
      for (const key of parts) expect(await storage.size(key)).toBeGreaterThan(0)
      // Not yet expired: kept.
      await t.app.files.sweep(new Date())
      expect(await rowOf(id)).toBeDefined()
      await t.app.files.sweep(new Date(Date.now() + t.app.config.files.uploadTimeoutMs + 60 * 60 * 1000))
      expect(await rowOf(id)).toBeUndefined()
      for (const key of parts) expect(await storage.size(key)).toBeUndefined()
    })
  })
}
