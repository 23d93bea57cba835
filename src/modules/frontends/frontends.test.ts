import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createAdminApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { adminQuery } from '../../../test/helpers/services.ts'

let t: TestApp
let admin: TestUser
let user: TestUser
beforeAll(async () => {
  ;({ t, admin } = await createAdminApp())
  user = await makeUser(t.app)
})
afterAll(async () => { await t.close() })

let n = 0
const uniqueName = () => `app-${Date.now().toString(36)}-${n++}`

interface Created { frontend: { id: string, name: string, origins: string[], enabled: boolean, rateTier: string, channelNamespace: string, source: string }, apiKey: string }

async function create (payload: Record<string, unknown> = {}): Promise<Created> {
  const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: uniqueName(), ...payload } }))
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}

describe('access to /api/v1/admin/frontends', () => {
  const routes: Array<[string, (id: string) => InjectOptions, number]> = [
    ['list', () => ({ method: 'GET', url: '/api/v1/admin/frontends' }), 200],
    ['create', () => ({ method: 'POST', url: '/api/v1/admin/frontends', payload: { name: uniqueName() } }), 201],
    ['get', (id) => ({ method: 'GET', url: `/api/v1/admin/frontends/${id}` }), 200],
    ['update', (id) => ({ method: 'PATCH', url: `/api/v1/admin/frontends/${id}`, payload: { enabled: false } }), 200],
    ['rotate key', (id) => ({ method: 'POST', url: `/api/v1/admin/frontends/${id}/rotate-key` }), 200],
    ['delete', (id) => ({ method: 'DELETE', url: `/api/v1/admin/frontends/${id}` }), 204]
  ]
  for (const [name, request, ok] of routes) {
    it(`${name}: anonymous 401, user 403, admin ${ok}`, async () => {
      const { frontend } = await create()
      expect((await t.app.inject(request(frontend.id))).statusCode).toBe(401)
      const denied = await t.app.inject(as(user, request(frontend.id)))
      expect(denied.statusCode).toBe(403)
      expect(denied.body).not.toContain(frontend.name)
      expect((await t.app.inject(as(admin, request(frontend.id)))).statusCode).toBe(ok)
    })
  }

  it('a frontend key is no credential: it cannot reach the admin API, as X-API-Key or X-Frontend-Key', async () => {
    const { apiKey } = await create()
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/frontends', headers: { 'x-api-key': apiKey } })).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/frontends', headers: { 'x-frontend-key': apiKey } })).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { 'x-api-key': apiKey } })).statusCode).toBe(401)
  })
})

describe('registering frontends', () => {
  it('shows the key once, in the create reply only, and stores only its hash', async () => {
    const created = await create({ origins: ['https://shop.example.test'], framework: 'ios' })
    expect(created.apiKey).toMatch(/^bp_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/)
    expect(created.frontend).toMatchObject({ origins: ['https://shop.example.test'], enabled: true, rateTier: 'default', source: 'manual', channelNamespace: `frontend:${created.frontend.name}` })
    const one = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/frontends/${created.frontend.id}` }))
    const list = await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/frontends?limit=100' }))
    expect(one.json()).toMatchObject({ id: created.frontend.id, framework: 'ios' })
    expect(list.json().items.map((f: { id: string }) => f.id)).toContain(created.frontend.id)
    const secret = created.apiKey.slice(12)
    for (const body of [one.body, list.body]) expect(body).not.toContain(secret)
    const { rows } = await adminQuery(t.db.url, 'SELECT user_id, scopes, secret_hash FROM api_keys WHERE frontend_id = $1', [created.frontend.id])
    expect(rows).toEqual([{ user_id: null, scopes: [], secret_hash: expect.stringMatching(/^[0-9a-f]{64}$/) }])
    const audit = await expectAudit(t, { action: 'frontend.created', outcome: 'success', actorId: admin.id, targetId: created.frontend.id })
    expect(JSON.stringify(audit.details)).not.toContain(secret)
  })

  it('keeps the channel namespace frontend:<name>: realtime authorises by the name, so another namespace cannot be set', async () => {
    const other = await create()
    const created = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: uniqueName(), channelNamespace: other.frontend.channelNamespace } }))
    expect(created.statusCode).toBe(400)
    expect(created.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'body.channelNamespace' }] })
    const { frontend } = await create()
    const changed = await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${frontend.id}`, payload: { channelNamespace: other.frontend.channelNamespace } }))
    expect(changed.statusCode).toBe(400)
    expect(changed.headers['content-type']).toMatch(/^application\/problem\+json/)
    const after = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/frontends/${frontend.id}` }))
    expect(after.json().channelNamespace).toBe(`frontend:${frontend.name}`)
  })

  it('stores origins as browsers send them, and refuses anything that is not one exact origin', async () => {
    const { frontend } = await create({ origins: ['HTTPS://Shop.Example.TEST:443/', 'http://localhost:5173', 'capacitor://localhost'] })
    expect(frontend.origins).toEqual(['https://shop.example.test', 'http://localhost:5173', 'capacitor://localhost'])
    for (const origin of ['https://*.example.test', '*', 'null', 'https://a.example.test/app', 'https://a.example.test?x=1', 'https://user@a.example.test', 'file:///etc', 'example.test']) {
      const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: uniqueName(), origins: [origin] } }))
      expect(res.statusCode, origin).toBe(400)
      expect(res.json().code, origin).toBe('FRONTEND_ORIGIN_INVALID')
    }
  })

  it('refuses a taken name, an unknown tier and server-owned fields', async () => {
    const { frontend } = await create()
    const taken = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: frontend.name } }))
    expect(taken.statusCode).toBe(409)
    expect(taken.json().code).toBe('FRONTEND_NAME_TAKEN')
    const tier = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: uniqueName(), rateTier: 'platinum' } }))
    expect(tier.statusCode).toBe(400)
    expect(tier.json().code).toBe('FRONTEND_RATE_TIER_UNKNOWN')
    for (const field of [{ source: 'detected' }, { apiKeyId: frontend.id }, { detectedPath: '/tmp' }, { id: frontend.id }]) {
      const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: uniqueName(), ...field } }))
      expect(res.statusCode, JSON.stringify(field)).toBe(400)
    }
    const rename = await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${frontend.id}`, payload: { name: 'other' } }))
    expect(rename.statusCode).toBe(400)
    const bad = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: 'Not A Slug' } }))
    expect(bad.statusCode).toBe(400)
  })

  it('updates, disables and enables a frontend, and audits each', async () => {
    const { frontend } = await create()
    const patch = (payload: Record<string, unknown>) => t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${frontend.id}`, payload }))
    const updated = await patch({ origins: ['https://m.example.test'], rateTier: 'high', pathPrefix: '/api/v1', framework: null })
    expect(updated.statusCode, updated.body).toBe(200)
    expect(updated.json()).toMatchObject({ origins: ['https://m.example.test'], rateTier: 'high', pathPrefix: '/api/v1', framework: null })
    expect((await patch({ enabled: false })).json().enabled).toBe(false)
    await expectAudit(t, { action: 'frontend.disabled', outcome: 'success', targetId: frontend.id })
    expect((await patch({ enabled: true })).json().enabled).toBe(true)
    await expectAudit(t, { action: 'frontend.enabled', outcome: 'success', targetId: frontend.id })
    expect((await patch({})).statusCode).toBe(400)
  })

  it('404s an unknown frontend on every route', async () => {
    const id = '01900000-0000-7000-8000-000000000000'
    for (const [method, url] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/rotate-key']] as const) {
      const res = await t.app.inject(as(admin, { method, url: `/api/v1/admin/frontends/${id}${url}`, ...(method === 'PATCH' ? { payload: { enabled: true } } : {}) }))
      expect(res.statusCode, `${method} ${url}`).toBe(404)
    }
  })

  it('pages the list with a cursor and filters it', async () => {
    await create({ enabled: false })
    const first = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/frontends?limit=2' }))).json()
    expect(first.items).toHaveLength(2)
    const second = (await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/frontends?limit=2&cursor=${first.nextCursor}` }))).json()
    expect(second.items[0].id).not.toBe(first.items[1].id)
    const disabled = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/frontends?enabled=false&limit=100' }))).json()
    expect(disabled.items.every((f: { enabled: boolean }) => !f.enabled)).toBe(true)
    expect((await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/frontends?cursor=junk' }))).statusCode).toBe(400)
  })
})

describe('frontend keys', () => {
  const withKey = (key: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { 'x-frontend-key': key, ...headers } })

  it('rotating gives a new key (shown once) and refuses the old one at once', async () => {
    const { frontend, apiKey } = await create()
    expect((await withKey(apiKey)).statusCode).toBe(200)
    const rotated = await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/admin/frontends/${frontend.id}/rotate-key` }))
    expect(rotated.statusCode).toBe(200)
    const next = rotated.json().apiKey as string
    expect(next).not.toBe(apiKey)
    const old = await withKey(apiKey)
    expect(old.statusCode).toBe(401)
    expect(old.json().code).toBe('FRONTEND_KEY_INVALID')
    expect((await withKey(next)).statusCode).toBe(200)
    await expectAudit(t, { action: 'frontend.key_rotated', outcome: 'success', targetId: frontend.id })
  })

  it('refuses the key of a disabled or deleted frontend, and junk', async () => {
    const a = await create()
    await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${a.frontend.id}`, payload: { enabled: false } }))
    expect((await withKey(a.apiKey)).statusCode).toBe(401)
    const b = await create()
    expect((await withKey(b.apiKey)).statusCode).toBe(200)
    expect((await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/frontends/${b.frontend.id}` }))).statusCode).toBe(204)
    expect((await withKey(b.apiKey)).statusCode).toBe(401)
    expect((await withKey('bp_nothing')).statusCode).toBe(401)
    const userKey = (await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'k', scopes: [] } }))).json().key as string
    expect((await withKey(userKey)).statusCode).toBe(401)
  })
})
