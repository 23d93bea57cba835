import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { defineModule } from './modules.ts'

// Debian's `prometheus` package (.ci/run installs it). Missing, the test fails: a skip would hide it.
const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool'
const TOKEN = `mt_${randomBytes(16).toString('hex')}`
const PRODUCTION = { BACKPLANE_ENV: 'production', BACKPLANE_SECRET: randomBytes(32).toString('base64'), DATABASE_EMBEDDED_OK: 'true' }

const probe = defineModule({
  name: 'probe',
  plugin: async (app) => {
    app.get('/probe/item/:id', async (request) => request.params)
    app.get('/probe/crash', async () => { throw new Error('kaboom') })
  }
})

/** sample returns the value of one Prometheus sample line whose labels include all of `labels`. */
function sample (text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1))
  }
  return undefined
}

describe('/metrics (open, outside production)', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ modules: [probe] }) })
  afterAll(async () => { await t.close() })

  it('serves Prometheus text with runtime metrics', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body).toMatch(/^# HELP http_request_duration_seconds /m)
    expect(res.body).toMatch(/^# TYPE http_request_duration_seconds histogram$/m)
    expect(res.body).toMatch(/^nodejs_eventloop_lag_seconds \d/m)
    expect(res.body).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m)
    expect(res.body).toMatch(/^process_resident_memory_bytes \d+/m)
    expect(res.body).toMatch(/^nodejs_heap_size_used_bytes \d+/m)
  })

  it('labels request durations by route pattern, method and status, never by raw URL', async () => {
    for (const id of ['a1', 'b2', 'c3']) await t.app.inject({ method: 'GET', url: `/probe/item/${id}?q=${id}` })
    await t.app.inject({ method: 'GET', url: '/probe/crash' })
    const res = await t.app.inject({ method: 'GET', url: '/metrics' })
    const text = res.body
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/probe/item/:id', status_code: '200' })).toBe(3)
    expect(sample(text, 'http_request_duration_seconds_count', { route: '/probe/crash', status_code: '500' })).toBe(1)
    expect(sample(text, 'http_request_duration_seconds_bucket', { route: '/probe/item/:id', le: '+Inf' })).toBe(3)
    expect(sample(text, 'http_request_duration_seconds_sum', { route: '/probe/item/:id' })).toBeGreaterThan(0)
    expect(text).not.toMatch(/\/probe\/item\/(a1|b2|c3)/)
    expect(text).not.toContain('q=')
  })

  it('puts every unmatched URL under one "unmatched" label', async () => {
    const scans = Array.from({ length: 25 }, () => `/scan/${randomBytes(6).toString('hex')}`)
    for (const url of scans) expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(404)
    await t.app.inject({ method: 'POST', url: `/scan/${randomBytes(6).toString('hex')}` })
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(25)
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'POST', route: 'unmatched', status_code: '404' })).toBe(1)
    for (const url of scans) expect(text).not.toContain(url)
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]))
    expect([...routes].every((r) => r === 'unmatched' || r?.startsWith('/'))).toBe(true)
  })

  it('passes `promtool check metrics` with no problem reported', async () => {
    if (!existsSync(PROMTOOL)) throw new Error(`promtool is missing at ${PROMTOOL}: install Debian's prometheus package (.ci/run does)`)
    // Runs after the tests above, so the histogram has series with labels of every kind.
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 })
    expect(run.stdout + run.stderr).toBe('')
    expect(run.status).toBe(0)
    // The per-type gauges carry what the renamed totals held.
    expect(text).toMatch(/^# TYPE nodejs_active_handles gauge$/m)
    expect(text).toMatch(/^nodejs_active_resources\{type="[^"]+"\} \d+/m)
  })
})

describe('/metrics with METRICS_TOKEN', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } }) })
  afterAll(async () => { await t.close() })

  it('answers 200 to the bearer token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('http_request_duration_seconds')
    const lower = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } })
    expect(lower.statusCode).toBe(200) // the auth scheme is case-insensitive (RFC 9110 §11.1)
  })

  const refused: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['a wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
    ['a longer token', { authorization: `Bearer ${TOKEN}x` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, 8)}` }],
    ['the token without the Bearer scheme', { authorization: TOKEN }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['the token in X-API-Key', { 'x-api-key': TOKEN }]
  ]
  for (const [name, headers] of refused) {
    it(`answers 404, like an unknown route, to ${name}`, async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers })
      const unknown = await t.app.inject({ method: 'GET', url: '/metricz' })
      expect(res.statusCode).toBe(404)
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      const { requestId: _a, instance: _b, detail, ...rest } = res.json()
      const { requestId: _c, instance: _d, detail: unknownDetail, ...unknownRest } = unknown.json()
      expect(rest).toEqual(unknownRest)
      expect(detail).toBe(String(unknownDetail).replace('/metricz', '/metrics'))
      expect(res.body).not.toContain('http_request_duration_seconds')
    })
  }

  it('refuses the token in the query string', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/metrics?token=${TOKEN}` })
    expect(res.statusCode).toBe(404)
  })
})

describe('/metrics in production', () => {
  it('is not served without METRICS_TOKEN', async () => {
    const t = await createTestApp({ env: PRODUCTION })
    try {
      expect(t.app.config.production).toBe(true)
      const res = await t.app.inject({ method: 'GET', url: '/metrics' })
      expect(res.statusCode).toBe(404)
      expect(res.json().code).toBe('NOT_FOUND')
      expect(res.body).not.toContain('process_resident_memory_bytes')
      // HSTS is on in production.
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    } finally {
      await t.close()
    }
  })

  it('is served with METRICS_TOKEN, to the bearer only', async () => {
    const t = await createTestApp({ env: { ...PRODUCTION, METRICS_TOKEN: TOKEN } })
    try {
      expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404)
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
      expect(res.statusCode).toBe(200)
      expect(res.body).toMatch(/^process_resident_memory_bytes \d+/m)
    } finally {
      await t.close()
    }
  })
})
