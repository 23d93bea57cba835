import { randomBytes } from 'node:crypto'
import { importPKCS8, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSecretBox } from '../../lib/secret-box.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { adminQuery } from '../../../test/helpers/services.ts'
import { listen, openSocket, refusal } from '../../../test/helpers/realtime.ts'
import { defaultOriginCheck } from './handshake.ts'

// SECURITY.md WS-01: the handshake is authenticated before the upgrade; a foreign Origin, a missing,
// forged or expired credential, or a token in the URL never gets a socket.

const ALLOWED = 'https://app.example.test'
let t: TestApp
let url: string
let alice: TestUser
let signKey: Parameters<SignJWT['sign']>[0]
let kid: string

const now = () => Math.floor(Date.now() / 1000)
async function token (user: TestUser, claims: Record<string, unknown>): Promise<string> {
  const payload = { sub: user.id, sid: user.sessionId, iss: 'backplane', aud: 'backplane', iat: now(), exp: now() + 600, jti: randomBytes(6).toString('hex'), ...claims }
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(signKey)
}

async function ticketFor (user: TestUser): Promise<string> {
  const res = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/realtime/ticket' }))
  expect(res.statusCode, res.body).toBe(200)
  return (res.json() as { ticket: string }).ticket
}

beforeAll(async () => {
  t = await createTestApp({ env: { CORS_ORIGINS: ALLOWED } })
  url = await listen(t.app)
  alice = await makeUser(t.app)
  const { rows } = await adminQuery(t.db.url, "SELECT kid, private_key_sealed FROM signing_keys WHERE status = 'active'")
  kid = rows[0].kid
  signKey = await importPKCS8(createSecretBox(t.app.config.secret!, 'signing-keys').open(rows[0].private_key_sealed), 'EdDSA')
})
afterAll(async () => { await t.close() })

describe('WS-01: handshake refusals (answered in HTTP, before any upgrade)', () => {
  it.each([
    ['no credentials', async () => ({}), 401, 'AUTH_REQUIRED'],
    ['a malformed token', async () => ({ token: 'a.b.c' }), 401, 'AUTH_INVALID'],
    ['a forged signature', async () => ({ token: `${alice.accessToken.slice(0, -4)}AAAA` }), 401, 'AUTH_INVALID'],
    ['an expired token', async () => ({ token: await token(alice, { exp: now() - 120, iat: now() - 1000 }) }), 401, 'AUTH_INVALID'],
    ['a token for another audience', async () => ({ token: await token(alice, { aud: 'other' }) }), 401, 'AUTH_INVALID'],
    ['the bearer protocol without a token', async () => ({ protocols: ['bearer'] }), 401, 'AUTH_INVALID'],
    ['the access token in the query string', async () => ({ query: `access_token=${alice.accessToken}` }), 401, 'AUTH_CREDENTIALS_IN_URL'],
    ['the access token as ?token=', async () => ({ query: `token=${alice.accessToken}` }), 401, 'AUTH_CREDENTIALS_IN_URL'],
    ['an unknown ticket', async () => ({ ticket: `rt_${randomBytes(32).toString('base64url')}` }), 401, 'AUTH_INVALID'],
    ['a malformed ticket', async () => ({ ticket: 'x'.repeat(90) }), 401, 'AUTH_INVALID'],
    ['a foreign Origin', async () => ({ token: alice.accessToken, origin: 'https://evil.example' }), 403, 'REALTIME_ORIGIN_FORBIDDEN'],
    ['a look-alike Origin (suffix)', async () => ({ token: alice.accessToken, origin: `${ALLOWED}.evil.example` }), 403, 'REALTIME_ORIGIN_FORBIDDEN'],
    ['a look-alike Origin (scheme)', async () => ({ token: alice.accessToken, origin: ALLOWED.replace('https', 'http') }), 403, 'REALTIME_ORIGIN_FORBIDDEN'],
    ['the null Origin', async () => ({ token: alice.accessToken, origin: 'null' }), 403, 'REALTIME_ORIGIN_FORBIDDEN'],
    ['a token and a ticket at once', async () => ({ token: alice.accessToken, ticket: await ticketFor(alice) }), 400, 'REALTIME_CREDENTIALS_AMBIGUOUS']
  ])('refuses %s', async (_name, make, status, code) => {
    const { query, ...options } = await make() as { query?: string, token?: string, ticket?: string, origin?: string, protocols?: string[] }
    const refused = await refusal(query ? `${url}?${query}` : url, options)
    expect(refused.status).toBe(status)
    expect(refused.body).toMatchObject({ status, code })
  })

  it('refuses a foreign Origin even before looking at the credentials', async () => {
    expect((await refusal(url, { origin: 'https://evil.example' })).status).toBe(403)
  })

  it('refuses the token of a session that ended', async () => {
    const bob = await makeUser(t.app)
    expect((await t.app.inject(as(bob, { method: 'POST', url: '/api/v1/auth/logout' }))).statusCode).toBe(204)
    expect((await refusal(url, { token: bob.accessToken })).body).toMatchObject({ code: 'AUTH_INVALID' })
  })

  it('answers a plain HTTP request with 426 (and an anonymous one with 401)', async () => {
    const res = await t.app.inject(as(alice, { method: 'GET', url: '/api/v1/realtime' }))
    expect(res.statusCode).toBe(426)
    expect(res.json()).toMatchObject({ code: 'REALTIME_UPGRADE_REQUIRED' })
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/realtime' })).statusCode).toBe(401)
  })

  it('refuses new sockets while the node drains', async () => {
    t.app.lifecycle.draining = true
    try {
      expect((await refusal(url, { token: alice.accessToken })).body).toMatchObject({ status: 503, code: 'REALTIME_DRAINING' })
    } finally {
      t.app.lifecycle.draining = false
    }
  })
})

describe('WS-01: accepted handshakes', () => {
  it('takes the token in Sec-WebSocket-Protocol and selects only `bearer`', async () => {
    const s = await openSocket(url, { token: alice.accessToken })
    expect(s.ws.protocol).toBe('bearer')
    const ready = await s.next((m) => m.type === 'ready')
    const exp = JSON.parse(Buffer.from(alice.accessToken.split('.')[1]!, 'base64url').toString()).exp as number
    expect(ready).toMatchObject({ expiresAt: new Date(exp * 1000).toISOString(), limits: { maxMessageBytes: 65536, maxSubscriptions: 100, maxMessagesPerSecond: 50 } })
    s.ws.close()
  })

  it('accepts an allowed Origin and the page\'s own origin', async () => {
    const own = new URL(url.replace('ws', 'http')).origin
    for (const origin of [ALLOWED, own]) {
      const s = await openSocket(url, { token: alice.accessToken, origin })
      await s.next((m) => m.type === 'ready')
      s.ws.close()
    }
  })

  it('reads the Origin policy through one swappable check (per-frontend origins arrive at run time)', async () => {
    const late = 'https://late.example.test'
    expect((await refusal(url, { token: alice.accessToken, origin: late })).status).toBe(403)
    t.app.realtime.setOriginCheck((origin) => origin === late)
    try {
      const s = await openSocket(url, { token: alice.accessToken, origin: late })
      s.ws.close()
      expect((await refusal(url, { token: alice.accessToken, origin: ALLOWED })).status).toBe(403)
    } finally {
      t.app.realtime.setOriginCheck(defaultOriginCheck(t.app))
    }
  })

  it('takes an Authorization header or an API key from non-browser clients', async () => {
    const viaHeader = await openSocket(url, { headers: { authorization: `Bearer ${alice.accessToken}` } })
    await viaHeader.next((m) => m.type === 'ready')
    viaHeader.ws.close()
    const created = await t.app.inject(as(alice, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'rt', scopes: ['project:read'] } }))
    const key = (created.json() as { key: string }).key
    const viaKey = await openSocket(url, { headers: { 'x-api-key': key } })
    expect(await viaKey.next((m) => m.type === 'ready')).toMatchObject({ expiresAt: null })
    viaKey.ws.close()
  })

  it('never logs the token or the ticket', async () => {
    const ticket = await ticketFor(alice)
    const s = await openSocket(url, { ticket })
    await s.next((m) => m.type === 'ready')
    s.ws.close()
    await refusal(url, { token: `${alice.accessToken.slice(0, -4)}AAAA` })
    const logs = t.logs.text()
    expect(logs).not.toContain(alice.accessToken.split('.')[2]!)
    expect(logs).not.toContain(ticket)
  })
})

describe('WS-01: tickets', () => {
  it('are for signed-in users only', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/realtime/ticket' })).statusCode).toBe(401)
    const created = await t.app.inject(as(alice, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'k', scopes: ['project:read'] } }))
    const key = (created.json() as { key: string }).key
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/realtime/ticket', headers: { 'x-api-key': key } })).statusCode).toBe(403)
    const res = await t.app.inject(as(alice, { method: 'POST', url: '/api/v1/realtime/ticket' }))
    expect(res.json()).toEqual({ ticket: expect.stringMatching(/^rt_[A-Za-z0-9_-]{43}$/), expiresIn: 30 })
  })

  it('open one socket, once', async () => {
    const ticket = await ticketFor(alice)
    const s = await openSocket(url, { ticket })
    const ready = await s.next((m) => m.type === 'ready')
    // A ticket's socket lives for one access-token lifetime.
    expect(Date.parse(ready.expiresAt as string) - Date.now()).toBeGreaterThan(800_000)
    expect((await refusal(url, { ticket })).body).toMatchObject({ code: 'AUTH_INVALID' })
    s.ws.close()
  })

  it('expire after 30 s', async () => {
    const ticket = await ticketFor(alice)
    await adminQuery(t.db.url, "UPDATE realtime_tickets SET expires_at = now() - interval '1 second'")
    expect((await refusal(url, { ticket })).status).toBe(401)
  })

  it('die with their session', async () => {
    const bob = await makeUser(t.app)
    const ticket = await ticketFor(bob)
    await t.app.inject(as(bob, { method: 'POST', url: '/api/v1/auth/logout' }))
    expect((await refusal(url, { ticket })).status).toBe(401)
  })
})

describe('credential lifetime', () => {
  it('closes the socket with 4001 when the token expires', async () => {
    const s = await openSocket(url, { token: await token(alice, { exp: now() + 2 }) })
    await s.next((m) => m.type === 'ready')
    const closed = await s.closed
    expect(closed).toEqual({ code: 4001, reason: expect.stringMatching(/^token expired/) })
  })

  it('keeps the socket open past the old expiry after an `auth` message with a fresh token', async () => {
    const s = await openSocket(url, { token: await token(alice, { exp: now() + 2 }) })
    await s.next((m) => m.type === 'ready')
    const fresh = await login(t.app, alice.email, alice.password)
    s.send({ type: 'auth', token: fresh.accessToken })
    await s.next((m) => m.type === 'authenticated')
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(s.ws.readyState).toBe(s.ws.OPEN)
    s.ws.close()
  })

  it('refuses re-authentication as someone else or with a bad token, keeping the socket', async () => {
    const bob = await makeUser(t.app)
    const s = await openSocket(url, { token: alice.accessToken })
    await s.next((m) => m.type === 'ready')
    s.send({ type: 'auth', token: bob.accessToken })
    expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: 'AUTH_INVALID' })
    s.send({ type: 'auth', token: 'a.b.c' })
    await s.next((m) => m.type === 'error' && s.messages.filter((x) => x.type === 'error').length === 2)
    s.send({ type: 'ping' })
    await s.next((m) => m.type === 'pong')
    s.ws.close()
  })
})
