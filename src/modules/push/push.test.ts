import { createECDH } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { startPushEndpoint, type PushEndpoint } from '../../../test/helpers/push-endpoint.ts'
import { waitFor } from '../../../test/helpers/queue.ts'
import { createSecretBox } from '../../lib/secret-box.ts'
import { pushChannel } from './index.ts'

// Web Push end to end against a local push service stand-in (loopback, so PUSH_ALLOW_INSECURE_ENDPOINTS).
let t: TestApp
let endpoint: PushEndpoint
let alice: TestUser
let bob: TestUser

const subscribe = (user: TestUser, body: Record<string, unknown>) => t.app.inject(as(user, { method: 'POST', url: '/api/v1/push/subscriptions', payload: body }))
const subscriptionIds = async (userId: string) => (await t.app.dbPool.query('SELECT id FROM push_subscriptions WHERE user_id = $1', [userId])).rows.map((r: { id: string }) => r.id)

beforeAll(async () => {
  t = await createTestApp({ env: { PUSH_ALLOW_INSECURE_ENDPOINTS: 'true', PUSH_VAPID_SUBJECT: 'mailto:ops@example.com' } })
  endpoint = await startPushEndpoint()
  alice = await makeUser(t.app)
  bob = await makeUser(t.app)
  await t.app.queue.start()
}, 60_000)

afterAll(async () => {
  await endpoint?.close()
  await t?.close()
})

describe('VAPID key pair', () => {
  it('is public, an uncompressed P-256 point, made once for nodes starting at once, and stable across a restart', async () => {
    // A second node on the same database, both asking before any key exists.
    const second = await createTestApp({ database: t.db, env: { PUSH_ALLOW_INSECURE_ENDPOINTS: 'true' } })
    try {
      const [a, b] = await Promise.all([
        t.app.inject({ method: 'GET', url: '/api/v1/push/vapid-public-key' }),
        second.app.inject({ method: 'GET', url: '/api/v1/push/vapid-public-key' })
      ])
      expect(a.statusCode).toBe(200)
      expect(b.json()).toEqual(a.json())
      const key = Buffer.from(a.json<{ publicKey: string }>().publicKey, 'base64url')
      expect(key.length).toBe(65)
      expect(key[0]).toBe(4)
    } finally {
      await second.close()
    }
    const { rows } = await t.app.dbPool.query('SELECT public_key, private_key_sealed, row_to_json(k)::text AS whole FROM push_vapid_keys k')
    expect(rows).toHaveLength(1)
    // Sealed: opening it with the master secret gives the private key of the published public key, and that key is nowhere in the row.
    const box = createSecretBox('test-secret-0123456789-abcdefghijklmnop', 'push-vapid')
    const privateKey = box.open(rows[0].private_key_sealed as string)
    const ecdh = createECDH('prime256v1')
    ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'))
    expect(ecdh.getPublicKey().toString('base64url')).toBe(rows[0].public_key)
    expect(rows[0].whole as string).not.toContain(privateKey)
    expect(rows[0].whole as string).not.toContain(Buffer.from(privateKey, 'base64url').toString('hex'))
    // A restarted node reads the same pair.
    const restarted = await createTestApp({ database: t.db })
    try {
      const again = await restarted.app.inject({ method: 'GET', url: '/api/v1/push/vapid-public-key' })
      expect(again.json<{ publicKey: string }>().publicKey).toBe(rows[0].public_key)
    } finally {
      await restarted.close()
    }
  }, 60_000)
})

describe('sending', () => {
  it('delivers an RFC 8291 aes128gcm message with a valid VAPID JWT that the browser decrypts to the payload', async () => {
    const browser = endpoint.subscriber('/push/alice-laptop')
    const res = await subscribe(alice, { endpoint: browser.endpoint, expirationTime: null, keys: { p256dh: browser.p256dh, auth: browser.auth }, deviceName: 'Laptop' })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({ pushService: endpoint.origin, deviceName: 'Laptop', lastSentAt: null })
    expect(res.body).not.toContain(browser.p256dh)
    const notification = { id: '0190f3a0-0000-7000-8000-000000000001', userId: alice.id, type: 'execution.failed', title: 'Run failed', body: 'Nightly build failed — exit 1 ✗', link: '/projects/p/executions/e', createdAt: new Date().toISOString() }
    await pushChannel(t.app.push).deliver([notification])
    const [message] = await waitFor(() => endpoint.received.filter((m) => m.path === '/push/alice-laptop'), (list) => list.length >= 1)
    expect(endpoint.rejected).toEqual([])
    expect(message!.payload).toEqual({ id: notification.id, type: 'execution.failed', title: 'Run failed', body: notification.body, link: notification.link })
    expect(message!.claims.aud).toBe(endpoint.origin)
    expect(message!.claims.sub).toBe('mailto:ops@example.com')
    expect(message!.claims.exp).toBeGreaterThan(Date.now() / 1000)
    const published = await t.app.inject({ method: 'GET', url: '/api/v1/push/vapid-public-key' })
    expect(message!.vapidKey).toBe(published.json<{ publicKey: string }>().publicKey)
    expect(message!.headers.ttl).toBe('86400')
    expect(message!.headers.urgency).toBe('normal')
    expect(message!.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/)
    const listed = await waitFor(async () => (await t.app.inject(as(alice, { method: 'GET', url: '/api/v1/push/subscriptions' }))).json<{ items: Array<{ lastSentAt: string | null }> }>(), (l) => l.items[0]?.lastSentAt != null)
    expect(listed.items).toHaveLength(1)
  }, 60_000)

  it('deletes a subscription the push service answers 410 Gone for, and one it answers 404 for', async () => {
    const gone = endpoint.subscriber('/push/bob-gone')
    const missing = endpoint.subscriber('/push/bob-missing')
    endpoint.reply('/push/bob-gone', 410)
    endpoint.reply('/push/bob-missing', 404)
    expect((await subscribe(bob, { endpoint: gone.endpoint, keys: { p256dh: gone.p256dh, auth: gone.auth } })).statusCode).toBe(201)
    expect((await subscribe(bob, { endpoint: missing.endpoint, keys: { p256dh: missing.p256dh, auth: missing.auth } })).statusCode).toBe(201)
    expect(await subscriptionIds(bob.id)).toHaveLength(2)
    expect(await t.app.push.sendToUser(bob.id, { id: '0190f3a0-0000-7000-8000-000000000002', type: 'test', title: 't', body: 'b', link: null })).toBe(2)
    await waitFor(() => subscriptionIds(bob.id), (ids) => ids.length === 0)
  }, 60_000)

  it('retries a message the push service answered 503 for, with back-off, until it is accepted', async () => {
    const user = await makeUser(t.app)
    const browser = endpoint.subscriber('/push/flaky')
    endpoint.reply('/push/flaky', 503, 1)
    expect((await subscribe(user, { endpoint: browser.endpoint, keys: { p256dh: browser.p256dh, auth: browser.auth } })).statusCode).toBe(201)
    await t.app.push.sendToUser(user.id, { id: '0190f3a0-0000-7000-8000-000000000003', type: 'test', title: 'again', body: 'b', link: null })
    // The first retry waits retryDelaySeconds (10 s) on a loaded machine: a generous deadline.
    await waitFor(() => endpoint.answered('/push/flaky'), (a) => a.includes(201), 90_000)
    expect(endpoint.answered('/push/flaky')).toEqual([503, 201])
    expect(endpoint.received.find((m) => m.path === '/push/flaky')?.payload).toMatchObject({ title: 'again' })
    expect(await subscriptionIds(user.id)).toHaveLength(1)
  }, 120_000)
})

describe('subscriptions', () => {
  it('upserts on the endpoint for the same user (new keys, new name) instead of adding a second row', async () => {
    const user = await makeUser(t.app)
    const first = endpoint.subscriber('/push/upsert')
    const again = endpoint.subscriber('/push/upsert')
    const a = await subscribe(user, { endpoint: first.endpoint, keys: { p256dh: first.p256dh, auth: first.auth } })
    const b = await subscribe(user, { endpoint: again.endpoint, keys: { p256dh: again.p256dh, auth: again.auth }, deviceName: 'Phone' })
    expect([a.statusCode, b.statusCode]).toEqual([201, 200])
    expect(b.json<{ id: string }>().id).toBe(a.json<{ id: string }>().id)
    const { rows } = await t.app.dbPool.query('SELECT p256dh, device_name FROM push_subscriptions WHERE user_id = $1', [user.id])
    expect(rows).toEqual([{ p256dh: again.p256dh, device_name: 'Phone' }])
  })

  it('AZ-01/AZ-03: another user\'s subscription is neither listed nor deletable (404, row kept); its owner deletes it (204)', async () => {
    const browser = endpoint.subscriber('/push/az')
    const owner = await makeUser(t.app)
    const created = await subscribe(owner, { endpoint: browser.endpoint, keys: { p256dh: browser.p256dh, auth: browser.auth } })
    const id = created.json<{ id: string }>().id
    const other = await makeUser(t.app)
    const listed = await t.app.inject(as(other, { method: 'GET', url: '/api/v1/push/subscriptions' }))
    expect(listed.json()).toEqual({ items: [] })
    const denied = await t.app.inject(as(other, { method: 'DELETE', url: `/api/v1/push/subscriptions/${id}` }))
    const missing = await t.app.inject(as(other, { method: 'DELETE', url: '/api/v1/push/subscriptions/0190f3a0-0000-7000-8000-0000000000ff' }))
    expect(denied.statusCode).toBe(404)
    expect(denied.headers['content-type']).toContain('application/problem+json')
    expect({ ...denied.json(), requestId: 0, instance: 0 }).toEqual({ ...missing.json(), requestId: 0, instance: 0 })
    expect(await subscriptionIds(owner.id)).toEqual([id])
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/push/subscriptions' })).statusCode).toBe(401)
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/push/subscriptions/${id}` }))).statusCode).toBe(204)
    expect(await subscriptionIds(owner.id)).toEqual([])
  })
})
