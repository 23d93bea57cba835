import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { defineModule } from './modules.ts'

const probe = defineModule({
  name: 'probe',
  plugin: async (app) => {
    app.post('/probe/any', async () => ({ ok: true }))
    app.get('/probe/query', async (request) => request.query)
  }
})

let t: TestApp
let port: number
beforeAll(async () => {
  // The smallest headers timeout the settings allow, so a slow-header socket's fate is known in seconds.
  t = await createTestApp({ modules: [probe], env: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '5000' } })
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  port = (t.app.server.address() as AddressInfo).port
})
afterAll(async () => { await t.close() })

/** exchange writes `data` on a fresh socket and resolves with what came back and when the server closed it. */
function exchange (data: string, ms: number): Promise<{ text: string, closedAfterMs: number | undefined }> {
  return new Promise((resolve) => {
    const started = performance.now()
    const socket = connect(port, '127.0.0.1')
    let text = ''
    const finish = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ text, closedAfterMs: closed ? performance.now() - started : undefined })
    }
    const timer = setTimeout(() => { finish(false) }, ms)
    socket.on('data', (chunk) => { text += chunk.toString('latin1') })
    socket.on('error', () => { finish(true) })
    socket.on('close', () => { finish(true) })
    socket.write(data)
  })
}

describe('slow headers (HT-02)', () => {
  it('closes a socket whose headers never finish soon after HEADERS_TIMEOUT_MS, not at Node\'s 30 s check', async () => {
    // Half a request line and one header, then silence: a slowloris client.
    const { text, closedAfterMs } = await exchange('GET /health/live HTTP/1.1\r\nHost: x\r\n', 8000)
    expect(closedAfterMs).toBeDefined()
    // headersTimeout 1 s + the connection check interval (a quarter of it, at least 250 ms) + load slack.
    expect(closedAfterMs).toBeLessThan(3500)
    expect(closedAfterMs).toBeGreaterThanOrEqual(900)
    expect(text).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('leaves a socket that finished its headers in time alone', async () => {
    const { text } = await exchange('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000)
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
  })
})

describe('URL length (HT-03)', () => {
  it('answers an 8 KiB URL with 414 problem+json over a real socket', async () => {
    const { text } = await exchange(`GET /probe/query?q=${'u'.repeat(8 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 3000)
    expect(text).toMatch(/^HTTP\/1\.1 414 /)
    expect(text).toMatch(/content-type: application\/problem\+json; charset=utf-8/i)
    expect(text).toContain('"code":"URL_TOO_LONG"')
  })

  it('answers 414 on unknown routes too, and accepts a URL at the limit', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: `/nowhere/${'n'.repeat(5000)}` })
    expect(unknown.statusCode).toBe(414)
    expect(unknown.headers['x-content-type-options']).toBe('nosniff')
    const path = '/probe/query?q='
    const atLimit = await t.app.inject({ method: 'GET', url: path + 'a'.repeat(4096 - path.length) })
    expect(atLimit.statusCode).toBe(200)
    const over = await t.app.inject({ method: 'GET', url: path + 'a'.repeat(4097 - path.length) })
    expect(over.statusCode).toBe(414)
    expect(over.json()).toMatchObject({ status: 414, code: 'URL_TOO_LONG' })
  })

  it('takes its limit from MAX_URL_LENGTH', async () => {
    const small = await createTestApp({ modules: [probe], env: { MAX_URL_LENGTH: '256' } })
    try {
      expect((await small.app.inject({ method: 'GET', url: `/probe/query?q=${'a'.repeat(300)}` })).statusCode).toBe(414)
      expect((await small.app.inject({ method: 'GET', url: `/probe/query?q=${'a'.repeat(200)}` })).statusCode).toBe(200)
    } finally {
      await small.close()
    }
  })
})

describe('client aborts', () => {
  it('logs 100 aborted uploads below error level, without stacks, in a bounded number of lines', async () => {
    const before = t.logs.lines().length
    await Promise.all(Array.from({ length: 100 }, () => new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('POST /probe/any HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"a":')
        setTimeout(() => { socket.destroy(); resolve() }, 50)
      })
      socket.on('error', () => { resolve() })
    })))
    await sleep(1000)
    const lines = t.logs.lines().slice(before)
    const errors = lines.filter((l) => Number(l.level) >= 50)
    expect(errors).toEqual([])
    expect(JSON.stringify(lines)).not.toMatch(/"stack"/)
    const aborts = lines.filter((l) => /abort/i.test(String(l.msg)))
    expect(aborts.length).toBeGreaterThan(0)
    expect(aborts.length).toBeLessThanOrEqual(10)
  })
})
