import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ne } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { startTestS3, type TestS3 } from '../../../test/helpers/s3.ts'
import { makeProject } from '../../../test/helpers/work.ts'
import { deriveKey } from '../../lib/secret-box.ts'
import { masterSecret } from '../../platform/master-secret.ts'
import { createLinkSigner } from './signing.ts'
import { files } from './table.ts'

// A PNG's signature and header chunk: enough for the sniffer.
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'), Buffer.alloc(64)])
const MAX = 1536 * 1024
const QUOTA = 4 * 1024 * 1024
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

for (const driver of ['local', 's3'] as const) {
  describe(`files over HTTP (${driver} storage)`, () => {
    let t: TestApp
    let owner: TestUser
    let projectId: string
    let dataDir: string
    let s3: TestS3 | undefined

    const upload = (body: Buffer | Readable, name: string, type?: string, project = projectId, headers: Record<string, string> = {}) => t.app.inject(as(owner, {
      method: 'POST',
      url: `/api/v1/projects/${project}/files?name=${encodeURIComponent(name)}`,
      headers: { ...(type ? { 'content-type': type } : {}), ...headers },
      payload: body
    }))

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'bp-files-'))
      if (driver === 's3') s3 = await startTestS3()
      t = await createTestApp({ env: { DATA_DIR: dataDir, FILES_MAX_BYTES: String(MAX), FILES_PROJECT_QUOTA_BYTES: String(QUOTA), ...(s3 ? { STORAGE_URL: s3.storageUrl } : {}) } })
      owner = await makeUser(t.app)
      projectId = await makeProject(t.app, owner)
    })
    afterAll(async () => {
      await t.close()
      await s3?.close()
      await rm(dataDir, { recursive: true, force: true })
    })

    it('stores a file past the 1 MiB JSON limit with its SHA-256, and gives back its exact bytes as an attachment', async () => {
      const bytes = Buffer.alloc(1200 * 1024, 'a')
      const res = await upload(bytes, 'notes été.txt', 'text/plain; charset=utf-8')
      expect(res.statusCode, res.body).toBe(201)
      const file = res.json()
      expect(file).toMatchObject({ kind: 'project', projectId, name: 'notes été.txt', contentType: 'text/plain', size: bytes.length, sha256: sha256(bytes), uploadedBy: owner.id })
      const down = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/files/${file.id}/content` }))
      expect(down.statusCode).toBe(200)
      expect(down.rawPayload.equals(bytes)).toBe(true)
      expect(down.headers['content-disposition']).toBe('attachment; filename="notes _t_.txt"; filename*=UTF-8\'\'notes%20%C3%A9t%C3%A9.txt')
      expect(down.headers['x-content-type-options']).toBe('nosniff')
      expect(down.headers['accept-ranges']).toBe('bytes')
      expect(down.headers['content-encoding']).toBeUndefined()
      const listed = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/projects/${projectId}/files` }))
      expect(listed.json().items.map((f: { id: string }) => f.id)).toContain(file.id)
    })

    it('takes the type from the bytes when none is declared, and refuses bytes that are not the declared type (415)', async () => {
      const sniffed = await upload(PNG, 'pixel', 'application/octet-stream')
      expect(sniffed.statusCode, sniffed.body).toBe(201)
      expect(sniffed.json().contentType).toBe('image/png')
      const declared = await upload(PNG, 'pixel.png', 'image/png')
      expect(declared.json().contentType).toBe('image/png')
      for (const [body, type] of [[PNG, 'text/plain'], [Buffer.from('not a png at all'), 'image/png'], [PNG, 'application/pdf']] as const) {
        const res = await upload(body, 'x', type)
        expect(res.statusCode, `${type}`).toBe(415)
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(res.json().code).toBe('FILE_TYPE_MISMATCH')
      }
      // Not a media type at all: refused by Fastify's own Content-Type parsing.
      const bad = await upload(Buffer.from('x'), 'x', 'not a type')
      expect(bad.statusCode).toBe(415)
      expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/)
    })

    it('refuses a file over FILES_MAX_BYTES with 413, declared or streamed without a length, and keeps nothing', async () => {
      const declared = await upload(Buffer.alloc(MAX + 1), 'big.bin')
      expect(declared.statusCode).toBe(413)
      expect(declared.json()).toMatchObject({ code: 'FILE_TOO_LARGE', status: 413 })
      // No Content-Length: the limit is found while streaming.
      const chunks = Array.from({ length: 13 }, () => Buffer.alloc(128 * 1024, 1))
      const streamed = await upload(Readable.from(chunks), 'big.bin', 'application/octet-stream', projectId, { 'transfer-encoding': 'chunked' })
      expect(streamed.statusCode, streamed.body).toBe(413)
      expect(streamed.json().code).toBe('FILE_TOO_LARGE')
      expect(await t.app.db.select().from(files).where(ne(files.status, 'active'))).toEqual([])
    })

    it('holds a project to its quota (413 FILE_QUOTA_EXCEEDED), other projects unaffected', async () => {
      const full = await makeProject(t.app, owner, 'full')
      const mib = Buffer.alloc(1024 * 1024, 2)
      for (let i = 0; i < 4; i++) expect((await upload(mib, `part${i}`, undefined, full)).statusCode).toBe(201)
      const over = await upload(Buffer.alloc(10), 'one-more', undefined, full)
      expect(over.statusCode).toBe(413)
      expect(over.json().code).toBe('FILE_QUOTA_EXCEEDED')
      expect((await upload(Buffer.alloc(10), 'elsewhere')).statusCode).toBe(201)
    })

    it('sanitises names: path parts, control and bidi characters, leading dots; the stored key never comes from the name', async () => {
      const cases: Array<[string, string]> = [
        ['../../etc/passwd', 'passwd'],
        ['..\\..\\windows\\win.ini', 'win.ini'],
        ['report\u202Efdp.exe', 'reportfdp.exe'],
        ['line\r\nbreak.txt', 'linebreak.txt'],
        ['.htaccess', 'htaccess'],
        [`${'é'.repeat(200)}.txt`, `${'é'.repeat(125)}.txt`]
      ]
      for (const [given, stored] of cases) {
        const res = await upload(Buffer.from('x'), given, 'text/plain')
        expect(res.statusCode, given).toBe(201)
        expect(res.json().name, given).toBe(stored)
      }
      for (const refused of ['..', '../', '\u0000\u0001', ' . ']) {
        const res = await upload(Buffer.from('x'), refused, 'text/plain')
        expect(res.statusCode, JSON.stringify(refused)).toBe(400)
      }
      if (driver === 'local') {
        const stored = (await readdir(dataDir, { recursive: true })).map(String)
        expect(stored.filter((p) => /passwd|win\.ini|\.\./.test(p))).toEqual([])
      }
    })

    it('serves byte ranges (206) and refuses ranges outside the file (416 with Content-Range)', async () => {
      const file = (await upload(Buffer.from('hello world'), 'r.txt', 'text/plain')).json()
      const get = (range: string) => t.app.inject(as(owner, { method: 'GET', url: `/api/v1/files/${file.id}/content`, headers: { range } }))
      for (const [range, body, contentRange] of [['bytes=0-4', 'hello', 'bytes 0-4/11'], ['bytes=6-', 'world', 'bytes 6-10/11'], ['bytes=-3', 'rld', 'bytes 8-10/11'], ['bytes=9-100', 'ld', 'bytes 9-10/11']]) {
        const res = await get(range!)
        expect(res.statusCode, range).toBe(206)
        expect(res.body).toBe(body)
        expect(res.headers['content-range']).toBe(contentRange)
        expect(res.headers['content-length']).toBe(String(body!.length))
      }
      const outside = await get('bytes=11-20')
      expect(outside.statusCode).toBe(416)
      expect(outside.headers['content-range']).toBe('bytes */11')
      expect(outside.json().code).toBe('FILE_RANGE_NOT_SATISFIABLE')
      // Several ranges, or a unit we do not serve: the whole file (a server may ignore Range).
      expect((await get('bytes=0-1,3-4')).statusCode).toBe(200)
    })

    it('answers HEAD on downloads and signed links with the GET headers (length, type, disposition, ranges, ETag) and no body', async () => {
      const bytes = Buffer.from('head of the report')
      const file = (await upload(bytes, 'head.txt', 'text/plain')).json()
      const { url } = (await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/files/${file.id}/link` }))).json()
      for (const [request, label] of [[as(owner, { method: 'HEAD' as const, url: `/api/v1/files/${file.id}/content` }), 'content'], [{ method: 'HEAD' as const, url }, 'signed']] as const) {
        const head = await t.app.inject(request)
        expect(head.statusCode, label).toBe(200)
        expect(head.rawPayload.length, label).toBe(0)
        expect(head.headers, label).toMatchObject({
          'content-length': String(bytes.length),
          'content-type': 'text/plain',
          'content-disposition': 'attachment; filename="head.txt"; filename*=UTF-8\'\'head.txt',
          'accept-ranges': 'bytes',
          etag: `"${sha256(bytes)}"`
        })
      }
      const get = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/files/${file.id}/content` }))
      expect(get.headers.etag).toBe(`"${sha256(bytes)}"`)
      const ranged = await t.app.inject(as(owner, { method: 'HEAD', url: `/api/v1/files/${file.id}/content`, headers: { range: 'bytes=5-8' } }))
      expect(ranged.statusCode).toBe(206)
      expect(ranged.headers['content-range']).toBe(`bytes 5-8/${bytes.length}`)
      expect(ranged.headers['content-length']).toBe('4')
      expect(ranged.rawPayload.length).toBe(0)
      // Others' files stay 404 through HEAD too.
      const stranger = await makeUser(t.app)
      expect((await t.app.inject(as(stranger, { method: 'HEAD', url: `/api/v1/files/${file.id}/content` }))).statusCode).toBe(404)
    })

    it('signs short-lived download links; a tampered or expired link is 403, a deleted file 404', async () => {
      const file = (await upload(Buffer.from('secret report'), 'report.txt', 'text/plain')).json()
      const link = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/files/${file.id}/link` }))
      expect(link.statusCode).toBe(200)
      const { url, expiresAt } = link.json()
      expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(300_000)
      const ok = await t.app.inject({ method: 'GET', url })
      expect(ok.statusCode).toBe(200)
      expect(ok.body).toBe('secret report')
      const parsed = new URL(url, 'http://x')
      const expires = Number(parsed.searchParams.get('expires'))
      const signature = parsed.searchParams.get('signature')!
      const tampered = [
        `/api/v1/files/${file.id}/download?expires=${expires + 3600}&signature=${signature}`,
        `/api/v1/files/${file.id}/download?expires=${expires}&signature=${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`,
        `/api/v1/files/${projectId}/download?expires=${expires}&signature=${signature}`
      ]
      for (const bad of tampered) {
        const res = await t.app.inject({ method: 'GET', url: bad })
        expect(res.statusCode, bad).toBe(403)
        expect(res.json().code).toBe('FILE_LINK_INVALID')
      }
      // Signed with the app's own key, but for a time already past.
      const signer = createLinkSigner(() => deriveKey(masterSecret(t.app.config), 'file-download-link'))
      const past = Math.floor(Date.now() / 1000) - 1
      const expired = await t.app.inject({ method: 'GET', url: `/api/v1/files/${file.id}/download?expires=${past}&signature=${signer.sign(file.id, past)}` })
      expect(expired.statusCode).toBe(403)
      expect(expired.json().code).toBe('FILE_LINK_EXPIRED')
      expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/files/${file.id}` }))).statusCode).toBe(204)
      expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(404)
    })
  })
}
