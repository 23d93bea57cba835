import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConnection } from 'node:net'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'

// SECURITY.md HT-01 (ASVS 4.2.1; API8, request smuggling): ambiguous framing is refused with 400 and
// the connection closed, so nothing after the ambiguous part is ever read as a second request. The
// answers come from Node's HTTP parser (llhttp, strict mode): this test is the regression check
// to run on every Node upgrade, and it fails if someone turns on `insecureHTTPParser`.

/** exchange writes raw bytes to the server and collects everything it answers until it closes the socket. */
function exchange (port: number, raw: string, timeoutMs = 10_000): Promise<{ text: string, closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); resolve({ text, closed: false }) }, timeoutMs)
    socket.on('data', (d: Buffer) => { text += d.toString('latin1') })
    socket.on('close', () => { clearTimeout(timer); resolve({ text, closed: true }) })
    socket.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err) })
    socket.write(raw)
  })
}

/** statusLines lists every HTTP status line in a raw answer (one per response the server sent). */
function statusLines (text: string): string[] {
  return text.split('\r\n').filter((l) => /^HTTP\/1\.[01] \d{3}/.test(l))
}

// A second request hidden behind each ambiguous framing: if the server ever answered it (a 404 for
// this path), the framing was read two ways.
const SMUGGLED = 'GET /smuggled-ht01 HTTP/1.1\r\nHost: x\r\n\r\n'

const CASES: Array<{ name: string, raw: string }> = [
  { name: 'Content-Length and Transfer-Encoding together (CL.TE / TE.CL)', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}` },
  { name: 'two different Content-Length headers', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 50\r\n\r\n{}${SMUGGLED}` },
  { name: 'a Content-Length list', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2, 50\r\n\r\n{}${SMUGGLED}` },
  { name: 'an obs-fold continuation line', raw: `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n${SMUGGLED}` },
  { name: 'an obs-fold continuation of Transfer-Encoding', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}` },
  { name: 'no Host header in HTTP/1.1', raw: `GET /health/live HTTP/1.1\r\nAccept: */*\r\n\r\n${SMUGGLED}` },
  { name: 'a chunk size that is not hex', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n${SMUGGLED}` },
  { name: 'a negative chunk size', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n${SMUGGLED}` },
  { name: 'a chunk size overflowing 64 bits', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n{}\r\n0\r\n\r\n${SMUGGLED}` },
  { name: 'a chunk size with whitespace before it', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\n{}\r\n0\r\n\r\n${SMUGGLED}` },
  { name: 'a chunk without its CRLF', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n${SMUGGLED}` },
  { name: 'Transfer-Encoding not ending in chunked', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n${SMUGGLED}` },
  { name: 'a space before the header colon', raw: `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding : chunked\r\nContent-Length: 2\r\n\r\n{}${SMUGGLED}` },
  { name: 'a bare LF line ending in the headers', raw: `GET /health/live HTTP/1.1\r\nHost: x\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}` }
]

describe('HTTP framing on a raw socket (HT-01)', () => {
  let t: TestApp
  let port: number
  beforeAll(async () => {
    t = await createTestApp()
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 })
    port = Number(new URL(address).port)
  })
  afterAll(async () => { await t?.close() })

  it('HT-01: a well-framed request on the same raw socket helper is answered (the control)', async () => {
    const { text } = await exchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK'])
  })

  it.each(CASES)('HT-01: $name → 400, the connection closed, the smuggled request never answered', async ({ raw }) => {
    const { text, closed } = await exchange(port, raw)
    expect(statusLines(text), text).toEqual(['HTTP/1.1 400 Bad Request'])
    expect(closed).toBe(true)
    expect(text).not.toContain('smuggled-ht01')
  })

  it('HT-01: the server still answers after every malformed connection', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`)
    expect(res.status).toBe(200)
  })
})
