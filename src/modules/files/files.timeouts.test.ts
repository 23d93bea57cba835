import { connect } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { makeProject } from '../../../test/helpers/work.ts'
import { files } from './table.ts'

// The smallest whole-request bound the settings allow: any upload slower than a second would be cut by it.
const env = { REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '1000', FILES_UPLOAD_IDLE_TIMEOUT_MS: '4000' }

let t: TestApp
let owner: TestUser
let projectId: string
let dataDir: string
let port: number

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bp-files-timeouts-'))
  t = await createTestApp({ env: { DATA_DIR: dataDir, ...env } })
  owner = await makeUser(t.app)
  projectId = await makeProject(t.app, owner)
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const address = t.app.server.address()
  port = typeof address === 'object' && address !== null ? address.port : 0
})
afterAll(async () => {
  await t.close()
  await rm(dataDir, { recursive: true, force: true })
})

/**
 * trickle sends a request's head, then `chunks` pieces of its body `gapMs` apart (stopping after
 * `stopAfter` of them, a stalled client), and resolves with what came back once the server closed.
 */
function trickle (head: string, chunks: Buffer[], gapMs: number, stopAfter = chunks.length): Promise<{ text: string, closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let closed = false
    const giveUp = setTimeout(() => { socket.destroy() }, 60_000)
    socket.setEncoding('utf8')
    socket.on('data', (data: string) => { text += data })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(giveUp)
      resolve({ text, closed })
    })
    socket.on('end', () => { closed = true })
    socket.once('connect', () => {
      socket.write(head)
      const send = async () => {
        for (const [i, chunk] of chunks.entries()) {
          if (i >= stopAfter || socket.destroyed) return
          await sleep(gapMs)
          if (!socket.destroyed) socket.write(chunk)
        }
      }
      send().catch(reject)
    })
  })
}

const uploadHead = (length: number, name: string) => `POST /api/v1/projects/${projectId}/files?name=${name} HTTP/1.1\r\nHost: x\r\n` +
  `Authorization: Bearer ${owner.accessToken}\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`

describe('upload time bounds (HT-02)', () => {
  it('lets a steady upload that takes many times REQUEST_TIMEOUT_MS finish', async () => {
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.from(`line ${String(i).padStart(3, '0')}\n`))
    const length = chunks.reduce((n, c) => n + c.length, 0)
    // 16 pieces 300 ms apart: about five times the 1 s whole-request bound, never idle near the 4 s idle bound.
    const { text } = await trickle(uploadHead(length, 'slow.txt'), chunks, 300)
    expect(text, text).toMatch(/^HTTP\/1\.1 201 /)
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { size: number, name: string }
    expect(body).toMatchObject({ name: 'slow.txt', size: length })
  }, 90_000)

  it('drops an upload that stops sending for FILES_UPLOAD_IDLE_TIMEOUT_MS, and keeps nothing of it', async () => {
    const chunks = [Buffer.from('first bytes\n'), Buffer.from('never sent\n')]
    const { text } = await trickle(uploadHead(1000, 'stalled.txt'), chunks, 100, 1)
    // Closed by the server (the 60 s give-up would leave text empty too, but the row check below would then fail).
    expect(text).not.toMatch(/^HTTP\/1\.1 201 /)
    await expect.poll(async () => (await t.app.db.select().from(files)).filter((f) => f.name === 'stalled.txt'), { timeout: 30_000, interval: 250 }).toEqual([])
  }, 90_000)

  it('still cuts a slow body on other routes at REQUEST_TIMEOUT_MS (slow-loris protection kept)', async () => {
    const json = Buffer.from(JSON.stringify({ name: 'never finished', description: 'x'.repeat(40) }))
    const pieces = Array.from({ length: json.length }, (_, i) => json.subarray(i, i + 1))
    const head = `POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.accessToken}\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`
    // One byte every 250 ms: the whole body would take over 15 s.
    const { text } = await trickle(head, pieces, 250)
    expect(text).toMatch(/^HTTP\/1\.1 408 /)
  }, 90_000)
})
