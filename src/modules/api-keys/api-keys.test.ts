import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import fp from 'fastify-plugin'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { actorOf } from '../../platform/auth.ts'
import { defineModule } from '../../platform/modules.ts'
import type { SecurityEvent } from '../../platform/security-events.ts'
import { MAX_ACTIVE_KEYS } from './service.ts'

// A route open to any credential, reporting who the request acts as.
const probe = defineModule({
  name: 'api-keys-probe',
  plugin: fp(async (app) => {
    app.get('/api/v1/test-probe/whoami', { config: { access: 'authenticated' } }, async (request) => {
      const a = actorOf(request)
      return { kind: a.kind, userId: a.userId, apiKeyId: a.apiKeyId ?? null, roles: a.roles, permissions: [...a.permissions].sort() }
    })
  })
})

let t: TestApp
const events: SecurityEvent[] = []
beforeAll(async () => {
  t = await createTestApp({ modules: [probe] })
  t.app.securityEvents.on((e) => { events.push(e) })
})
afterAll(async () => { await t.close() })

interface CreatedKey { id: string, key: string, prefix: string, name: string, scopes: string[], expiresAt: string | null, revokedAt: string | null, lastUsedAt: string | null }

async function createKey (owner: TestUser, payload: Record<string, unknown> = {}): Promise<CreatedKey> {
  const res = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: [], ...payload } }))
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}

const withKey = (key: string, method: 'GET' | 'PATCH' = 'GET', url = '/api/v1/admin/users') =>
  t.app.inject({ method, url, headers: { 'x-api-key': key } })

describe('creating and reading keys', () => {
  it('shows the key once, in the create reply only', async () => {
    const owner = await makeUser(t.app)
    const created = await createKey(owner, { name: 'deploy bot' })
    expect(created.key).toMatch(/^bp_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/)
    expect(created.key.startsWith(`bp_${created.prefix}_`)).toBe(true)
    expect(created).toMatchObject({ name: 'deploy bot', scopes: [], expiresAt: null, lastUsedAt: null, revokedAt: null })

    const list = await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/api-keys' }))
    expect(list.statusCode).toBe(200)
    expect(list.json().items).toHaveLength(1)
    expect(list.json().items[0].key).toBeUndefined()
    const one = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/api-keys/${created.id}` }))
    expect(one.statusCode).toBe(200)
    expect(one.json()).toMatchObject({ id: created.id, prefix: created.prefix, name: 'deploy bot' })
    for (const body of [list.body, one.body]) expect(body).not.toContain(created.key.slice(12))
  })

  it('acts as the owner with the key scopes, on routes open to keys', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const { id, key } = await createKey(admin, { scopes: ['user:read'] })
    const res = await withKey(key, 'GET', '/api/v1/test-probe/whoami')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ kind: 'api-key', userId: admin.id, apiKeyId: id, roles: ['admin'], permissions: ['user:read'] })
  })

  it('pages the caller’s keys with a cursor and refuses a tampered cursor', async () => {
    const owner = await makeUser(t.app)
    const ids = []
    for (let i = 0; i < 3; i++) ids.push((await createKey(owner, { name: `k${i}` })).id)
    const first = await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/api-keys?limit=2' }))
    expect(first.json().items.map((k: CreatedKey) => k.id)).toEqual([ids[2], ids[1]])
    const cursor = first.json().nextCursor as string
    const second = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/api-keys?limit=2&cursor=${cursor}` }))
    expect(second.json()).toMatchObject({ items: [{ id: ids[0] }], nextCursor: null })
    const bad = await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/api-keys?cursor=nonsense' }))
    expect(bad.statusCode).toBe(400)
    expect((await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/api-keys?limit=1000' }))).statusCode).toBe(400)
  })

  it('refuses scopes the owner does not hold, naming the scope', async () => {
    const owner = await makeUser(t.app)
    for (const scope of ['user:read', 'nothing:real']) {
      const res = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'x', scopes: [scope] } }))
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ code: 'API_KEY_SCOPE_NOT_HELD' })
      expect(res.json().detail).toContain(scope)
    }
  })

  it('validates names, scopes, expiry and unknown fields', async () => {
    const owner = await makeUser(t.app, { roles: ['admin'] })
    const bad = [
      { name: '', scopes: [] },
      { name: 'x'.repeat(101), scopes: [] },
      { name: 'x', scopes: ['not a scope'] },
      { name: 'x', scopes: Array.from({ length: 51 }, (_, i) => `user:r${i}`) },
      { name: 'x', scopes: ['user:read', 'user:read'] },
      { name: 'x', scopes: [], expiresAt: 'tomorrow' },
      { name: 'x', scopes: [], userId: owner.id },
      { name: 'x' }
    ]
    for (const payload of bad) {
      const res = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/api-keys', payload }))
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
    }
    const past = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'x', scopes: [], expiresAt: new Date(Date.now() - 1000).toISOString() } }))
    expect(past.json()).toMatchObject({ status: 400, code: 'API_KEY_EXPIRY_PAST' })
  })

  it(`caps a user at ${MAX_ACTIVE_KEYS} live keys`, async () => {
    const owner = await makeUser(t.app)
    await t.app.dbPool.query(`INSERT INTO api_keys (id, user_id, name, prefix, secret_hash)
      SELECT gen_random_uuid(), $1::uuid, 'bulk', 'q' || substr(md5($1::text || i::text), 1, 7), md5(i::text) FROM generate_series(1, $2::int) i`, [owner.id, MAX_ACTIVE_KEYS])
    const res = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'one more', scopes: [] } }))
    expect(res.statusCode).toBe(409)
    expect(res.json().code).toBe('API_KEY_LIMIT')
  })
})

describe('using, rotating, revoking and expiring keys', () => {
  it('grants what the scopes grant and nothing more', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const reader = await createKey(admin, { scopes: ['user:read'] })
    const none = await createKey(admin, { scopes: [] })
    expect((await withKey(reader.key)).statusCode).toBe(200)
    expect((await withKey(none.key)).statusCode).toBe(403)
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${admin.id}`, headers: { 'x-api-key': reader.key }, payload: { name: 'x' } })
    expect(patch.statusCode).toBe(403)
  })

  it('rotation: the old key is refused at once, the new one works', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const old = await createKey(admin, { scopes: ['user:read'] })
    expect((await withKey(old.key)).statusCode).toBe(200)
    const res = await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/api-keys/${old.id}/rotate` }))
    expect(res.statusCode).toBe(200)
    const rotated = res.json() as CreatedKey
    expect(rotated).toMatchObject({ id: old.id, name: old.name, scopes: ['user:read'] })
    expect(rotated.key).not.toBe(old.key)
    expect(rotated.prefix).not.toBe(old.prefix)
    expect((await withKey(old.key)).statusCode).toBe(401)
    expect((await withKey(rotated.key)).statusCode).toBe(200)
  })

  it('revocation is immediate; revoking twice is harmless; a revoked key cannot be rotated', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const k = await createKey(admin, { scopes: ['user:read'] })
    expect((await withKey(k.key)).statusCode).toBe(200)
    expect((await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/api-keys/${k.id}` }))).statusCode).toBe(204)
    const after = await withKey(k.key)
    expect(after.statusCode).toBe(401)
    expect(after.json().code).toBe('AUTH_INVALID')
    expect((await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/api-keys/${k.id}` }))).statusCode).toBe(204)
    const shown = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/api-keys/${k.id}` }))
    expect(shown.json().revokedAt).not.toBeNull()
    const rotate = await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/api-keys/${k.id}/rotate` }))
    expect(rotate.json()).toMatchObject({ status: 409, code: 'API_KEY_REVOKED' })
  })

  it('an expired key is refused', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const k = await createKey(admin, { scopes: ['user:read'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() })
    expect(k.expiresAt).not.toBeNull()
    expect((await withKey(k.key)).statusCode).toBe(200)
    await t.app.dbPool.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [k.id])
    // A direct SQL change bypasses the service, so drop the cached entry as its short TTL would.
    await t.app.cache.delete({ key: `api-key:${k.prefix}` })
    expect((await withKey(k.key)).statusCode).toBe(401)
    const rotate = await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/api-keys/${k.id}/rotate` }))
    expect(rotate.json().code).toBe('API_KEY_EXPIRED')
  })

  it('a demoted owner’s key loses the permission at once', async () => {
    const [owner, other] = [await makeUser(t.app, { roles: ['admin'] }), await makeUser(t.app, { roles: ['admin'] })]
    const k = await createKey(owner, { scopes: ['user:read'] })
    expect((await withKey(k.key)).statusCode).toBe(200)
    const demote = await t.app.inject(as(other, { method: 'PATCH', url: `/api/v1/admin/users/${owner.id}`, payload: { roles: ['user'] } }))
    expect(demote.statusCode).toBe(200)
    expect((await withKey(k.key)).statusCode).toBe(403)
    expect((await withKey(k.key, 'GET', '/api/v1/test-probe/whoami')).json().permissions).toEqual([])
  })

  it('a disabled or deleted owner’s keys stop working at once', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const [a, b] = [await makeUser(t.app, { roles: ['admin'] }), await makeUser(t.app, { roles: ['admin'] })]
    const ka = await createKey(a, { scopes: ['user:read'] })
    const kb = await createKey(b, { scopes: ['user:read'] })
    expect((await withKey(ka.key)).statusCode).toBe(200)
    expect((await withKey(kb.key)).statusCode).toBe(200)
    expect((await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${a.id}`, payload: { status: 'disabled' } }))).statusCode).toBe(200)
    expect((await withKey(ka.key)).statusCode).toBe(401)
    expect((await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/users/${b.id}` }))).statusCode).toBe(200)
    expect((await withKey(kb.key)).statusCode).toBe(401)
    // Enabling the owner again brings the key back: it was never revoked.
    expect((await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${a.id}`, payload: { status: 'active' } }))).statusCode).toBe(200)
    expect((await withKey(ka.key)).statusCode).toBe(200)
  })

  it('records the last use, at most once a minute', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const k = await createKey(admin, { scopes: ['user:read'] })
    const lastUsed = async () => (await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/api-keys/${k.id}` }))).json().lastUsedAt as string | null
    await withKey(k.key)
    const first = await vi.waitFor(async () => {
      const at = await lastUsed()
      expect(at).not.toBeNull()
      return at
    }, { timeout: 5000, interval: 50 })
    const updates = async () => (await t.app.dbPool.query('SELECT updated_at FROM api_keys WHERE id = $1', [k.id])).rows[0].updated_at.getTime() as number
    const before = await updates()
    for (let i = 0; i < 5; i++) await withKey(k.key)
    expect(await lastUsed()).toBe(first)
    expect(await updates()).toBe(before)
  })
})

describe('audit', () => {
  it('reports creation, rotation and revocation with name and scopes, never the key', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const k = await createKey(admin, { name: 'audited', scopes: ['user:read'] })
    const rotated = (await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/api-keys/${k.id}/rotate` }))).json() as CreatedKey
    await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/api-keys/${k.id}` }))
    const mine = events.filter((e) => e.targetId === k.id)
    expect(mine.map((e) => e.action)).toEqual(['api_key.created', 'api_key.rotated', 'api_key.revoked'])
    for (const e of mine) {
      expect(e).toMatchObject({ outcome: 'success', targetType: 'api-key', actorId: admin.id, actorType: 'user', details: { name: 'audited', scopes: ['user:read'] } })
    }
    const text = JSON.stringify(mine)
    for (const secret of [k.key, rotated.key, k.key.slice(12), rotated.key.slice(12)]) expect(text).not.toContain(secret)
  })
})
