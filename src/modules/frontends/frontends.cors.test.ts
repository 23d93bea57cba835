import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'

// SECURITY.md CF-01 with a live allow-list: CORS_ORIGINS plus the enabled frontends' origins.
const CONFIGURED = 'https://configured.example.test'
const APP = 'https://app.example.test'

let t: TestApp
let admin: TestUser
beforeAll(async () => {
  t = await createTestApp({ env: { CORS_ORIGINS: CONFIGURED } })
  admin = await makeUser(t.app, { roles: ['admin'] })
})
afterAll(async () => { await t.close() })

let n = 0
async function register (origins: string[], extra: Record<string, unknown> = {}): Promise<{ id: string, name: string, apiKey: string }> {
  const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: `cors-${n++}`, origins, ...extra } }))
  expect(res.statusCode, res.body).toBe(201)
  return { id: res.json().frontend.id, name: res.json().frontend.name, apiKey: res.json().apiKey }
}
const setEnabled = (id: string, enabled: boolean) => t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${id}`, payload: { enabled } }))
const fromOrigin = (origin: string) => t.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin } })

function expectAllowed (res: LightMyRequestResponse, origin: string): void {
  expect(res.headers['access-control-allow-origin']).toBe(origin)
  expect(res.headers['access-control-allow-credentials']).toBe('true')
  expect(String(res.headers.vary)).toMatch(/\bOrigin\b/i)
}

function expectRefused (res: LightMyRequestResponse): void {
  expect(res.headers['access-control-allow-origin']).toBeUndefined()
  expect(res.headers['access-control-allow-credentials']).toBeUndefined()
  expect(String(res.headers.vary)).toMatch(/\bOrigin\b/i)
}

describe('the CORS allow-list', () => {
  it('allows a configured origin', async () => {
    expectAllowed(await fromOrigin(CONFIGURED), CONFIGURED)
  })

  it('allows a registered frontend\'s origin right after it is created, without a restart', async () => {
    const origin = 'https://fresh.example.test'
    expectRefused(await fromOrigin(origin))
    await register([origin])
    expectAllowed(await fromOrigin(origin), origin)
    expect(t.app.corsOrigins.allows(origin)).toBe(true)
  })

  it('is loaded before the first request of a node started later (a restart)', async () => {
    const origin = 'https://before-restart.example.test'
    await register([origin])
    // Another node on the same database, with in-process pubsub (it hears nothing from this one) and no reload for an hour.
    const other = await createTestApp({ database: t.db, env: { FRONTENDS_RELOAD_SECONDS: '3600' } })
    try {
      expectAllowed(await other.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin } }), origin)
    } finally {
      await other.close()
    }
  })

  it('reaches a node that missed the change notice through the periodic reload', async () => {
    const other = await createTestApp({ database: t.db, env: { FRONTENDS_RELOAD_SECONDS: '1' } })
    try {
      const origin = 'https://missed-notice.example.test'
      // Its first request loads the registry: the change below comes after it.
      expectRefused(await other.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin } }))
      await register([origin])
      expectRefused(await other.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin } }))
      await vi.waitFor(async () => {
        expectAllowed(await other.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin } }), origin)
      }, { timeout: 3000, interval: 50 })
    } finally {
      await other.close()
    }
  })

  it('answers a preflight from a frontend origin, X-Frontend-Key included', async () => {
    const origin = 'https://preflight.example.test'
    await register([origin])
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/users/me',
      headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'content-type,authorization,x-frontend-key' }
    })
    expect(res.statusCode).toBe(204)
    expectAllowed(res, origin)
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('x-frontend-key')
  })

  it('drops a frontend\'s origin when it is disabled, and brings it back when enabled', async () => {
    const origin = 'https://toggle.example.test'
    const { id } = await register([origin])
    expectAllowed(await fromOrigin(origin), origin)
    expect((await setEnabled(id, false)).statusCode).toBe(200)
    expectRefused(await fromOrigin(origin))
    expect((await setEnabled(id, true)).statusCode).toBe(200)
    expectAllowed(await fromOrigin(origin), origin)
  })

  it('drops a deleted frontend\'s origin, and one it no longer lists', async () => {
    const a = await register(['https://deleted.example.test'])
    await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/frontends/${a.id}` }))
    expectRefused(await fromOrigin('https://deleted.example.test'))
    const b = await register(['https://moved-from.example.test'])
    await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${b.id}`, payload: { origins: ['https://moved-to.example.test'] } }))
    expectRefused(await fromOrigin('https://moved-from.example.test'))
    expectAllowed(await fromOrigin('https://moved-to.example.test'), 'https://moved-to.example.test')
  })

  it('gives look-alike origins no CORS headers at all', async () => {
    await register([APP])
    const lookAlikes = [
      'https://app.example.test.evil.com', 'https://evil-app.example.test', 'https://evilapp.example.test', 'https://app.example.tes',
      'https://app.example.testx', 'http://app.example.test', 'https://app.example.test:8443', 'https://app.example.test/', 'https://APP.example.test',
      'null', 'https://configured.example.test.evil.com', 'https://evil.example', '*', ''
    ]
    for (const origin of lookAlikes) {
      const res = await fromOrigin(origin)
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined()
      expect(res.headers['access-control-allow-credentials'], origin).toBeUndefined()
    }
    const preflight = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/instance', headers: { origin: 'https://app.example.test.evil.com', 'access-control-request-method': 'GET' } })
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('never answers `*`, even with credentials and a frontend key', async () => {
    const { apiKey } = await register(['https://star.example.test'])
    for (const headers of [{ origin: 'https://star.example.test' }, { origin: 'https://star.example.test', 'x-frontend-key': apiKey, cookie: 'a=b' }, { origin: 'https://x.test' }]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/instance', headers })
      expect(res.headers['access-control-allow-origin']).not.toBe('*')
    }
  })
})

describe('frontend keys at run time', () => {
  it('attributes a request with the key to its frontend, from its own origin or with none (native apps)', async () => {
    const { apiKey, name } = await register([APP, 'https://www.example.test'], { name: 'attributed' })
    const own = await t.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { 'x-frontend-key': apiKey, origin: 'https://www.example.test', 'x-request-id': 'fe-attr-1' } })
    expect(own.statusCode).toBe(200)
    const native = await t.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { 'x-frontend-key': apiKey } })
    expect(native.statusCode).toBe(200)
    const line = t.logs.lines().find((l) => l.requestId === 'fe-attr-1' && l.msg === 'request')
    expect(line).toMatchObject({ frontend: name, status: 200 })
    await t.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin: APP, 'x-request-id': 'fe-none-1' } })
    const plain = t.logs.lines().find((l) => l.requestId === 'fe-none-1' && l.msg === 'request')
    expect(plain).toBeDefined()
    expect(plain).not.toHaveProperty('frontend')
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(new RegExp(`http_request_duration_seconds_count\\{[^}]*route="/api/v1/instance"[^}]*frontend="${name}"[^}]*\\} [1-9]`))
  })

  it('refuses a key sent from an origin its frontend does not own (403), and audits it', async () => {
    const { apiKey, id } = await register(['https://owner.example.test'])
    await register(['https://other.example.test'])
    for (const origin of ['https://other.example.test', 'https://owner.example.test.evil.com', 'null', CONFIGURED]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { 'x-frontend-key': apiKey, origin, 'x-request-id': `foreign-${origin.length}` } })
      expect(res.statusCode, origin).toBe(403)
      expect(res.json().code).toBe('FRONTEND_ORIGIN_FORBIDDEN')
    }
    await expectAudit(t, { action: 'frontend.origin_refused', outcome: 'denied', targetId: id })
    const { apiKey: nativeKey } = await register([])
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { 'x-frontend-key': nativeKey, origin: 'https://owner.example.test' } })).statusCode).toBe(403)
  })

  it('names the frontend in the audit entries of requests that carry its key', async () => {
    const { apiKey, name } = await register([], { name: 'audited' })
    const someone = await makeUser(t.app)
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'x-frontend-key': apiKey, 'x-request-id': 'fe-login-1' }, payload: { email: someone.email, password: someone.password } })
    expect(res.statusCode).toBe(200)
    const login = await expectAudit(t, { action: 'auth.login', outcome: 'success', requestId: 'fe-login-1' })
    expect(login.details).toMatchObject({ frontend: name })
    const created = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', headers: { 'x-frontend-key': apiKey, 'x-request-id': 'fe-admin-1' }, payload: { name: 'made-via-frontend' } }))
    expect(created.statusCode).toBe(201)
    const row = await expectAudit(t, { action: 'frontend.created', outcome: 'success', requestId: 'fe-admin-1' })
    expect(row.details).toMatchObject({ frontend: name, name: 'made-via-frontend' })
  })
})

describe('frontend rate tiers', () => {
  let r: TestApp
  beforeAll(async () => { r = await createTestApp({ env: { FRONTEND_RATE_TIERS: '{"default":100000,"low":3}' } }) })
  afterAll(async () => { await r.close() })

  it('counts a frontend\'s callers in its tier: a low tier answers 429 sooner', async () => {
    const boss = await makeUser(r.app, { roles: ['admin'] })
    const make = async (rateTier: string) => (await r.app.inject(as(boss, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: `tier-${rateTier}`, rateTier } }))).json().apiKey as string
    const low = await make('low')
    const normal = await make('default')
    const call = (key?: string) => r.app.inject({ method: 'GET', url: '/api/v1/instance', headers: key ? { 'x-frontend-key': key } : {} })
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await call(low)).statusCode)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const limited = await call(low)
    expect(limited.headers['ratelimit-limit']).toBe('3')
    // The same client without the key, or with another frontend's, is in other budgets.
    for (let i = 0; i < 5; i++) expect((await call()).statusCode).toBe(200)
    for (let i = 0; i < 5; i++) expect((await call(normal)).statusCode).toBe(200)
  })
})
