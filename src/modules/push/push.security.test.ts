import { createECDH, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { waitFor } from '../../../test/helpers/queue.ts'
import { encodePayload, MAX_PAYLOAD_BYTES } from './payload.ts'

// The strict policy (no PUSH_ALLOW_INSECURE_ENDPOINTS): https on the public internet only.
let t: TestApp
let user: TestUser
const PUBLIC_HOST = 'push.example.test'
// A test resolver: one public name, one name that points inside (DNS rebinding style), the rest unknown.
const resolver = async (host: string) => {
  if (host === PUBLIC_HOST) return [{ address: '93.184.215.14', family: 4 }]
  if (host === 'inside.example.test') return [{ address: '10.1.2.3', family: 4 }]
  throw new Error('ENOTFOUND')
}

const p256dh = () => { const e = createECDH('prime256v1'); e.generateKeys(); return e.getPublicKey().toString('base64url') }
const auth = () => randomBytes(16).toString('base64url')
const valid = (path = randomBytes(6).toString('hex')) => ({ endpoint: `https://${PUBLIC_HOST}/send/${path}`, keys: { p256dh: p256dh(), auth: auth() } })
const post = (who: TestUser, payload: unknown) => t.app.inject(as(who, { method: 'POST', url: '/api/v1/push/subscriptions', payload: payload as Record<string, unknown> }))
const count = async () => (await t.app.dbPool.query('SELECT count(*)::int AS n FROM push_subscriptions')).rows[0].n as number

beforeAll(async () => {
  t = await createTestApp({ env: { PUSH_MAX_SUBSCRIPTIONS_PER_USER: '3' } })
  t.app.push.setResolver(resolver)
  user = await makeUser(t.app)
}, 60_000)

afterAll(async () => { await t?.close() })

describe('subscription input (RC-04, AZ-05)', () => {
  const point = Buffer.from(p256dh(), 'base64url')
  const offCurve = Buffer.from(point)
  offCurve[40]! ^= 1
  const cases: Array<[string, (body: ReturnType<typeof valid>) => unknown, string]> = [
    ['p256dh of 64 bytes', (b) => ({ ...b, keys: { ...b.keys, p256dh: point.subarray(0, 64).toString('base64url') } }), 'body.keys.p256dh'],
    ['p256dh compressed (33 bytes)', (b) => ({ ...b, keys: { ...b.keys, p256dh: Buffer.concat([Buffer.from([2]), point.subarray(1, 33)]).toString('base64url') } }), 'body.keys.p256dh'],
    ['p256dh off the curve', (b) => ({ ...b, keys: { ...b.keys, p256dh: offCurve.toString('base64url') } }), 'body.keys.p256dh'],
    ['auth of 15 bytes', (b) => ({ ...b, keys: { ...b.keys, auth: randomBytes(15).toString('base64url') } }), 'body.keys.auth'],
    ['auth of 32 bytes', (b) => ({ ...b, keys: { ...b.keys, auth: randomBytes(32).toString('base64url') } }), 'body.keys.auth'],
    ['auth not base64url', (b) => ({ ...b, keys: { ...b.keys, auth: 'not base64!' } }), 'keys'],
    ['no keys', (b) => ({ endpoint: b.endpoint }), 'keys'],
    ['an unknown field', (b) => ({ ...b, userId: user.id }), ''],
    ['an endpoint of 3000 characters', (b) => ({ ...b, endpoint: `https://${PUBLIC_HOST}/${'a'.repeat(3000)}` }), 'endpoint']
  ]
  for (const [name, make, field] of cases) {
    it(`refuses ${name} with a 400 problem and stores nothing`, async () => {
      const before = await count()
      const res = await post(user, make(valid()))
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
      if (field.startsWith('body.')) expect(res.json<{ errors: Array<{ path: string }> }>().errors[0]?.path).toBe(field)
      else expect(res.body).toContain(field)
      expect(await count()).toBe(before)
    })
  }
})

describe('SS-01/SS-02: push endpoints never lead inside', () => {
  const refused = [
    'http://push.example.test/send/x', // plain http
    'https://127.0.0.1/send/x',
    'https://[::1]/send/x',
    'https://localhost/send/x',
    'https://10.0.0.5/send/x',
    'https://169.254.169.254/latest/meta-data',
    'https://2130706433/send/x', // 127.0.0.1 in decimal
    'https://inside.example.test/send/x', // resolves to 10.1.2.3
    'https://nowhere.example.test/send/x', // does not resolve
    'https://user:pass@push.example.test/send/x',
    'ftp://push.example.test/send/x'
  ]
  for (const endpoint of refused) {
    it(`refuses ${endpoint}`, async () => {
      const res = await post(user, { ...valid(), endpoint })
      expect(res.statusCode).toBe(400)
      expect(res.json<{ code: string, errors: Array<{ path: string }> }>()).toMatchObject({ code: 'PUSH_SUBSCRIPTION_INVALID', errors: [{ path: 'body.endpoint' }] })
    })
  }

  it('accepts an https endpoint on a public address', async () => {
    expect((await post(user, valid())).statusCode).toBe(201)
  })

  it('checks again at connect time: a name that now resolves to loopback is never connected to (canary gets 0 hits)', async () => {
    let hits = 0
    const canary = createServer((_req, res) => { hits++; res.end() })
    canary.on('connection', () => { hits++ })
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve))
    const port = (canary.address() as AddressInfo).port
    try {
      const someone = await makeUser(t.app)
      // Saved while the name was public, then DNS changes to point at the canary.
      t.app.push.setResolver(async () => [{ address: '93.184.215.14', family: 4 }])
      expect((await post(someone, { ...valid(), endpoint: `https://rebind.example.test:${port}/send/x` })).statusCode).toBe(201)
      t.app.push.setResolver(async () => [{ address: '127.0.0.1', family: 4 }])
      await t.app.queue.start()
      expect(await t.app.push.sendToUser(someone.id, { id: 'rebind-1', type: 'test', title: 't', body: 'b', link: null })).toBe(1)
      await waitFor(async () => (await t.app.queue.stats()).find((s) => s.name === 'push.send'), (s) => (s?.failed ?? 0) + (s?.deadLetters ?? 0) >= 1, 30_000)
      expect(hits).toBe(0)
    } finally {
      t.app.push.setResolver(resolver)
      await new Promise((resolve) => canary.close(resolve))
    }
  }, 60_000)
})

describe('limits (RC-06)', () => {
  it('caps subscriptions per user (409) yet still refreshes one already held', async () => {
    const someone = await makeUser(t.app)
    const held = valid('held')
    expect((await post(someone, held)).statusCode).toBe(201)
    expect((await post(someone, valid())).statusCode).toBe(201)
    expect((await post(someone, valid())).statusCode).toBe(201)
    const over = await post(someone, valid())
    expect(over.statusCode).toBe(409)
    expect(over.json()).toMatchObject({ code: 'PUSH_SUBSCRIPTION_LIMIT' })
    expect((await post(someone, { ...held, keys: { p256dh: p256dh(), auth: auth() } })).statusCode).toBe(200)
  })

  it('holds the cap under parallel subscribes', async () => {
    const someone = await makeUser(t.app)
    const results = await Promise.all(Array.from({ length: 8 }, () => post(someone, valid())))
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(3)
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(5)
  })

  it('keeps a payload within one aes128gcm record: a long body is shortened, never refused', () => {
    const json = encodePayload({ id: 'n1', type: 'test', title: 'Title', body: 'é✗'.repeat(5000), link: '/x' })
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
    const parsed = JSON.parse(json) as { body: string, link: string }
    expect(parsed.body.endsWith('…')).toBe(true)
    expect(parsed.link).toBe('/x')
  })
})

describe('access (AZ-04)', () => {
  it('the public key needs no sign-in; subscriptions need a user (401 anonymous)', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/push/vapid-public-key' })).statusCode).toBe(200)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/push/subscriptions', payload: valid() })).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/push/subscriptions' })).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/push/subscriptions/0190f3a0-0000-7000-8000-0000000000ff' })).statusCode).toBe(401)
  })

  it('an API key of the user cannot manage their browsers\' subscriptions (403: signed-in users only)', async () => {
    const created = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: [] } }))
    expect(created.statusCode).toBe(201)
    const headers = { 'x-api-key': created.json<{ key: string }>().key }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/push/subscriptions', headers })).statusCode).toBe(403)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/push/subscriptions', headers, payload: valid() })).statusCode).toBe(403)
  })
})
