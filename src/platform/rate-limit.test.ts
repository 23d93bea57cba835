import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser } from '../../test/helpers/auth.ts'
import { defineModule } from './modules.ts'

// Each test sends from addresses of its own, so the buckets of one test never touch another's.
let last = 0
function freshIp (): string {
  last++
  return `198.51.${Math.floor(last / 250)}.${(last % 250) + 1}`
}

/** expectLimited checks a 429 is the one problem+json shape with the draft-spec headers. */
function expectLimited (res: LightMyRequestResponse, limit: number): void {
  expect(res.statusCode).toBe(429)
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
  expect(res.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED', type: 'urn:backplane:problem:rate-limited', requestId: expect.any(String) })
  const retryAfter = Number(res.headers['retry-after'])
  expect(retryAfter).toBeGreaterThan(0)
  expect(retryAfter).toBeLessThanOrEqual(60)
  expect(res.headers['ratelimit-limit']).toBe(String(limit))
  expect(res.headers['ratelimit-remaining']).toBe('0')
  expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThan(0)
  // The security baseline is on limited replies too.
  expect(res.headers['x-content-type-options']).toBe('nosniff')
  expect(res.headers['cache-control']).toBe('no-store')
}

const instance = (remoteAddress: string, headers: Record<string, string> = {}) =>
  ({ method: 'GET' as const, url: '/api/v1/instance', remoteAddress, headers })

describe('anonymous and signed-in budgets (RC-05)', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5', RATE_LIMIT_USER_PER_MINUTE: '5', RATE_LIMIT_API_KEY_PER_MINUTE: '4' } }) })
  afterAll(async () => { await t.close() })

  it('limits anonymous callers per IP: the 6th request is a 429 problem, another IP is unaffected', async () => {
    const ip = freshIp()
    for (let i = 1; i <= 5; i++) {
      const res = await t.app.inject(instance(ip))
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBe('5')
      expect(res.headers['ratelimit-remaining']).toBe(String(5 - i))
    }
    expectLimited(await t.app.inject(instance(ip)), 5)
    expect((await t.app.inject(instance(freshIp()))).statusCode).toBe(200)
  })

  it('ignores X-Forwarded-For without a trusted proxy (CF-05): rotating it does not reset the budget', async () => {
    const ip = freshIp()
    const codes: number[] = []
    for (let i = 0; i < 8; i++) codes.push((await t.app.inject(instance(ip, { 'x-forwarded-for': `203.0.113.${i}`, 'x-real-ip': `203.0.113.${i}` }))).statusCode)
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
  })

  it('counts IPv6 clients by /64, so rotating addresses inside one allocation does not help', async () => {
    const net = `2001:db8:${(++last).toString(16)}:1`
    const codes: number[] = []
    for (let i = 0; i < 6; i++) codes.push((await t.app.inject(instance(`${net}::${(i + 1).toString(16)}`))).statusCode)
    expect(codes).toEqual([200, 200, 200, 200, 200, 429])
    expect((await t.app.inject(instance(`2001:db8:${last.toString(16)}:2::1`))).statusCode).toBe(200)
  })

  it('limits the 404 handler too, so scanning for URLs is throttled', async () => {
    const ip = freshIp()
    for (let i = 0; i < 5; i++) expect((await t.app.inject({ method: 'GET', url: `/wp-admin/${i}.php`, remoteAddress: ip })).statusCode).toBe(404)
    expectLimited(await t.app.inject({ method: 'GET', url: '/.env', remoteAddress: ip }), 5)
  })

  it('limits signed-in users per user: one user at the limit does not affect another on the same IP, nor the IP', async () => {
    const [ada, bob] = [await makeUser(t.app), await makeUser(t.app)]
    const ip = freshIp()
    for (let i = 0; i < 5; i++) expect((await t.app.inject(as(ada, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip }))).statusCode).toBe(200)
    expectLimited(await t.app.inject(as(ada, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip })), 5)
    // The user's budget follows the user, not the address.
    expectLimited(await t.app.inject(as(ada, { method: 'GET', url: '/api/v1/users/me', remoteAddress: freshIp() })), 5)
    expect((await t.app.inject(as(bob, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip }))).statusCode).toBe(200)
    expect((await t.app.inject(instance(ip))).statusCode).toBe(200)
  })

  it('counts a signed-in user on public routes against the user, not the shared IP', async () => {
    const cy = await makeUser(t.app)
    const ip = freshIp()
    for (let i = 0; i < 5; i++) expect((await t.app.inject(as(cy, instance(ip)))).statusCode).toBe(200)
    expectLimited(await t.app.inject(as(cy, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip })), 5)
    expect((await t.app.inject(instance(ip))).statusCode).toBe(200)
  })

  it('limits API keys per key (AU-15), apart from their owner and the IP', async () => {
    const owner = await makeUser(t.app)
    const created = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: [] } }))
    expect(created.statusCode).toBe(201)
    const { key } = created.json()
    const ip = freshIp()
    for (let i = 0; i < 4; i++) expect((await t.app.inject(instance(ip, { 'x-api-key': key }))).headers['ratelimit-limit']).toBe('4')
    expectLimited(await t.app.inject(instance(freshIp(), { 'x-api-key': key })), 4)
    expect((await t.app.inject(instance(ip))).statusCode).toBe(200)
    expect((await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip }))).statusCode).toBe(200)
  })

  it('counts junk bearer tokens against the IP, answering them 401 even once the IP is limited, and anonymous calls from the IP 429', async () => {
    const ip = freshIp()
    const junk = { authorization: 'Bearer aaaa.bbbb.cccc' }
    for (let i = 0; i < 8; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/users/me', remoteAddress: ip, headers: junk })
      expect(res.statusCode).toBe(401)
      expect(res.json().code).toBe('AUTH_INVALID')
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users/me', remoteAddress: ip, headers: { 'x-api-key': 'bp_not_a_key' } })).statusCode).toBe(401)
    expectLimited(await t.app.inject(instance(ip)), 5)
    // A real user behind the same address keeps their own budget.
    const dee = await makeUser(t.app)
    expect((await t.app.inject(as(dee, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip }))).statusCode).toBe(200)
  })

  // A 429 tells a client to wait and retry the same request; a dead credential needs a new sign-in
  // instead, so the 401 wins even when the address has no anonymous budget left.
  it('answers a revoked token 401 with WWW-Authenticate, not 429, from an IP whose anonymous budget is spent', async () => {
    const ip = freshIp()
    const gone = await makeUser(t.app)
    expect((await t.app.inject(as(gone, { method: 'POST', url: '/api/v1/auth/logout', remoteAddress: freshIp() }))).statusCode).toBe(204)
    for (let i = 0; i < 5; i++) expect((await t.app.inject(instance(ip))).statusCode).toBe(200)
    expectLimited(await t.app.inject(instance(ip)), 5)
    const res = await t.app.inject(as(gone, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip }))
    expect(res.statusCode).toBe(401)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(res.json()).toMatchObject({ status: 401, code: 'AUTH_INVALID' })
    expect(res.headers['www-authenticate']).toBe('Bearer realm="backplane"')
    expect(res.headers['retry-after']).toBeUndefined()
    // The same holds for a public route: the refused credential is what the client must fix.
    expect((await t.app.inject(as(gone, instance(ip)))).statusCode).toBe(401)
  })

  it('never lets a forged token pick someone else\'s bucket', async () => {
    const victim = await makeUser(t.app)
    const [header, , signature] = victim.accessToken.split('.')
    const claims = JSON.parse(Buffer.from(victim.accessToken.split('.')[1]!, 'base64url').toString())
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 60 })).toString('base64url')}.${signature}`
    const ip = freshIp()
    const codes: number[] = []
    for (let i = 0; i < 20; i++) codes.push((await t.app.inject({ method: 'GET', url: '/api/v1/users/me', remoteAddress: ip, headers: { authorization: `Bearer ${forged}` } })).statusCode)
    expect(new Set(codes)).toEqual(new Set([401]))
    // The forgeries were counted against the attacker's IP; the victim's budget is untouched.
    expectLimited(await t.app.inject(instance(ip)), 5)
    for (let i = 0; i < 5; i++) expect((await t.app.inject(as(victim, { method: 'GET', url: '/api/v1/users/me', remoteAddress: freshIp() }))).statusCode).toBe(200)
  })

  it('checks a credential once per request: the route\'s access check reuses what the limiter found', async () => {
    const eve = await makeUser(t.app)
    const keys = t.app.signingKeys
    const original = keys.verify
    let calls = 0
    keys.verify = async (...args) => { calls++; return original(...args) }
    try {
      expect((await t.app.inject(as(eve, { method: 'GET', url: '/api/v1/users/me', remoteAddress: freshIp() }))).statusCode).toBe(200)
      expect(calls).toBe(1)
      // The identity answers only for its own request: the next one is verified afresh.
      expect((await t.app.inject(as(eve, { method: 'GET', url: '/api/v1/users/me', remoteAddress: freshIp() }))).statusCode).toBe(200)
      expect(calls).toBe(2)
      // A refused token is refused by the route with the same 401, without a second verification.
      const tampered = `${eve.accessToken.slice(0, -4)}AAAA`
      const refused = await t.app.inject({ method: 'GET', url: '/api/v1/users/me', remoteAddress: freshIp(), headers: { authorization: `Bearer ${tampered}` } })
      expect(refused.statusCode).toBe(401)
      expect(refused.json().code).toBe('AUTH_INVALID')
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="backplane"')
      expect(calls).toBe(3)
    } finally {
      keys.verify = original
    }
  })

  it('never limits probes, metrics, the JWKS or the docs, even from an exhausted IP', async () => {
    const ip = freshIp()
    for (let i = 0; i < 6; i++) await t.app.inject(instance(ip))
    expectLimited(await t.app.inject(instance(ip)), 5)
    for (const url of ['/health/live', '/health/ready', '/metrics', '/.well-known/jwks.json', '/openapi.json', '/docs']) {
      for (let i = 0; i < 8; i++) {
        const res = await t.app.inject({ method: 'GET', url, remoteAddress: ip })
        expect(res.statusCode, `${url} #${i}`).toBeLessThan(400)
        expect(res.headers['ratelimit-limit'], url).toBeUndefined()
      }
    }
  })

  it('documents 429 on every limited API operation', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(doc.paths['/api/v1/instance'].get.responses['429']).toBeDefined()
    expect(doc.paths['/api/v1/users/me'].get.responses['429']).toBeDefined()
    expect(doc.paths['/health/live'].get.responses['429']).toBeUndefined()
  })

  it('logs one line per key per window, not one per limited request', async () => {
    const ip = freshIp()
    for (let i = 0; i < 12; i++) await t.app.inject(instance(ip))
    const trips = t.logs.lines().filter((l) => l.msg === 'rate limit exceeded' && l.tier === 'anonymous')
    expect(trips.length).toBeGreaterThan(0)
    const before = trips.length
    for (let i = 0; i < 5; i++) await t.app.inject(instance(ip))
    expect(t.logs.lines().filter((l) => l.msg === 'rate limit exceeded' && l.tier === 'anonymous').length).toBe(before)
  })
})

describe('behind a trusted proxy (CF-05)', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5', TRUST_PROXY: '127.0.0.1' } }) })
  afterAll(async () => { await t.close() })

  it('keys on the client address the trusted proxy reports', async () => {
    const client = '203.0.113.77'
    for (let i = 0; i < 5; i++) expect((await t.app.inject(instance('127.0.0.1', { 'x-forwarded-for': client }))).statusCode).toBe(200)
    expectLimited(await t.app.inject(instance('127.0.0.1', { 'x-forwarded-for': client })), 5)
    expect((await t.app.inject(instance('127.0.0.1', { 'x-forwarded-for': '203.0.113.78' }))).statusCode).toBe(200)
  })

  it('ignores X-Forwarded-For from a peer that is not the trusted proxy', async () => {
    const ip = freshIp()
    const codes: number[] = []
    for (let i = 0; i < 7; i++) codes.push((await t.app.inject(instance(ip, { 'x-forwarded-for': `203.0.113.${100 + i}` }))).statusCode)
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429])
  })
})

describe('a route with limits of its own', () => {
  const pings = defineModule({
    name: 'pings',
    plugin: async (app) => {
      app.get('/api/v1/pings', { config: { access: 'public', rateLimit: { max: 2, timeWindow: 60_000 } }, schema: { operationId: 'ping' } }, async () => ({ ok: true }))
    }
  })
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5' }, modules: [pings] }) })
  afterAll(async () => { await t.close() })

  it('is limited by its own numbers, keyed like every route, in a count of its own', async () => {
    const ip = freshIp()
    const ping = { method: 'GET' as const, url: '/api/v1/pings', remoteAddress: ip }
    expect((await t.app.inject(ping)).statusCode).toBe(200)
    expect((await t.app.inject(ping)).statusCode).toBe(200)
    expectLimited(await t.app.inject(ping), 2)
    expect((await t.app.inject({ ...ping, remoteAddress: freshIp() })).statusCode).toBe(200)
    // The general budget of the IP is untouched.
    for (let i = 0; i < 5; i++) expect((await t.app.inject(instance(ip))).statusCode).toBe(200)
  })
})
