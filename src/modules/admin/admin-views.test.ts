import { randomUUID } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, login, makeUser, type TestUser } from '../../../test/helpers/auth.ts'

// The console's Users and Settings pages: a user's sessions and API keys, the effective settings.
describe('admin views of users and settings', () => {
  let t: TestApp
  let admin: TestUser
  let user: TestUser
  let victim: TestUser
  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: 'metrics-token-0123456789', DATABASE_URL: 'postgres://bp:hunter2-secret@db.internal:5432/bp' } })
    admin = await makeUser(t.app, { roles: ['admin'] })
    user = await makeUser(t.app)
    victim = await makeUser(t.app)
  }, 60_000)
  afterAll(async () => { await t?.close() })

  const routes: Array<{ what: string, request: () => InjectOptions }> = [
    { what: 'list sessions', request: () => ({ method: 'GET', url: `/api/v1/admin/users/${victim.id}/sessions` }) },
    { what: 'revoke a session', request: () => ({ method: 'DELETE', url: `/api/v1/admin/users/${victim.id}/sessions/${victim.sessionId}` }) },
    { what: 'list API keys', request: () => ({ method: 'GET', url: `/api/v1/admin/users/${victim.id}/api-keys` }) },
    { what: 'settings', request: () => ({ method: 'GET', url: '/api/v1/admin/settings' }) }
  ]

  it.each(routes)('AZ-04: $what: anonymous 401, a user 403 with no side effect', async ({ request }) => {
    expect((await t.app.inject(request())).statusCode).toBe(401)
    const denied = await t.app.inject(as(user, request()))
    expect(denied.statusCode).toBe(403)
    expect(denied.headers['content-type']).toMatch(/problem\+json/)
    // The victim's session survived the denied DELETE.
    expect((await t.app.inject(as(victim, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
  })

  it('lists a user\'s live sessions; ending one stops its access token at once (AZ-07) and is audited', async () => {
    const second = await login(t.app, victim.email, victim.password)
    const list = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users/${victim.id}/sessions` }))
    expect(list.statusCode).toBe(200)
    const ids = list.json().items.map((s: { id: string }) => s.id)
    expect(ids).toEqual(expect.arrayContaining([victim.sessionId, second.sessionId]))

    const res = await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/users/${victim.id}/sessions/${second.sessionId}` }))
    expect(res.statusCode).toBe(204)
    expect((await t.app.inject(as(second, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(401)
    expect((await t.app.inject(as(victim, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
    await expectAudit(t, { action: 'auth.session_revoked_by_admin', outcome: 'success', actorId: admin.id, targetId: second.sessionId })

    // Ended already, another user's session, or a made-up id: the same 404.
    for (const url of [`/api/v1/admin/users/${victim.id}/sessions/${second.sessionId}`, `/api/v1/admin/users/${victim.id}/sessions/${user.sessionId}`, `/api/v1/admin/users/${victim.id}/sessions/${randomUUID()}`]) {
      const missing = await t.app.inject(as(admin, { method: 'DELETE', url }))
      expect(missing.statusCode, url).toBe(404)
      expect(missing.json().code).toBe('SESSION_NOT_FOUND')
    }
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
  })

  it('an unknown user is a 404 for sessions and keys, a malformed id a 400', async () => {
    for (const sub of ['sessions', 'api-keys']) {
      expect((await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users/${randomUUID()}/${sub}` }))).statusCode).toBe(404)
      expect((await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users/nope/${sub}` }))).statusCode).toBe(400)
    }
  })

  it('AZ-06: shows a user\'s API keys without the key or its hash', async () => {
    const created = await t.app.inject(as(victim, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: [] } }))
    expect(created.statusCode).toBe(201)
    const { key, id } = created.json() as { key: string, id: string }
    const res = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users/${victim.id}/api-keys` }))
    expect(res.statusCode).toBe(200)
    expect(res.json().items).toEqual([expect.objectContaining({ id, name: 'ci', revokedAt: null })])
    expect(res.body).not.toContain(key)
    expect(res.body).not.toContain(key.split('_').at(-1))
    expect(res.body).not.toMatch(/hash/i)
  })

  it('AZ-06: settings show every value with its source, secrets masked', async () => {
    const res = await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/settings' }))
    expect(res.statusCode).toBe(200)
    const items = res.json().items as Array<{ name: string, value: string, source: string, secret: boolean }>
    const byName = Object.fromEntries(items.map((i) => [i.name, i]))
    expect(byName.PORT).toMatchObject({ value: '8080', source: 'default', secret: false })
    expect(byName.BACKPLANE_ENV).toMatchObject({ value: 'test', source: 'environment' })
    expect(byName.BACKPLANE_SECRET).toMatchObject({ value: '****', secret: true })
    expect(byName.METRICS_TOKEN).toMatchObject({ value: '****', secret: true })
    expect(byName.DATABASE_URL?.value).toBe('postgres://bp:****@db.internal:5432/bp')
    expect(res.body).not.toContain('test-secret-0123456789')
    expect(res.body).not.toContain('hunter2')
    expect(res.body).not.toContain('metrics-token-0123456789')
  })
})
