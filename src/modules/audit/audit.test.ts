import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdminApp, type TestApp } from '../../../test/helpers/app.ts'
import { auditRows, expectAudit, type AuditExpectation } from '../../../test/helpers/audit.ts'
import { as, login, makeUser, strongPassword, uniqueEmail, type TestUser } from '../../../test/helpers/auth.ts'
import { auditEvents } from './table.ts'
import { eq } from 'drizzle-orm'

let t: TestApp
let admin: TestUser
beforeAll(async () => { ({ t, admin } = await createAdminApp()) })
afterAll(async () => { await t.close() })

const UA = 'audit-test/1.0 (flows)'
const newRequestId = () => `audit-${randomBytes(8).toString('hex')}`

/** send injects a request carrying a fresh X-Request-ID and a known user agent. */
async function send (options: InjectOptions) {
  const requestId = newRequestId()
  const started = new Date()
  const res = await t.app.inject({ ...options, headers: { ...(options.headers ?? {}), 'x-request-id': requestId, 'user-agent': UA } })
  expect(res.headers['x-request-id']).toBe(requestId)
  return { res, requestId, started }
}

/** exactlyOne waits for the expected row, then checks it is the only row the request produced and has its context. */
async function exactlyOne (expected: AuditExpectation & { requestId: string }, started: Date) {
  const row = await expectAudit(t, expected, { timeoutMs: 10_000 })
  await t.app.audit.flush()
  const all = await t.app.db.select().from(auditEvents).where(eq(auditEvents.requestId, expected.requestId))
  expect(all.map((r) => r.action)).toEqual([expected.action])
  expect(row).toMatchObject({ ip: '127.0.0.1', userAgent: UA, requestId: expected.requestId })
  // created_at is the event time, a UTC instant within the request.
  expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(started.getTime())
  expect(row.createdAt.getTime()).toBeLessThanOrEqual(Date.now())
  return row
}

describe('LG-01: one audit row per security event, with actor, target, ip, request id and time', () => {
  it('register', async () => {
    const email = uniqueEmail('audit-reg')
    const { res, requestId, started } = await send({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: strongPassword() } })
    expect(res.statusCode).toBe(202)
    const user = await t.app.users.findForLogin(email)
    const row = await exactlyOne({ action: 'user.registered', outcome: 'success', requestId }, started)
    expect(row).toMatchObject({ actorId: user!.id, actorType: 'user', targetType: 'user', targetId: user!.id })
  })

  it('login, successful and failed', async () => {
    const user = await makeUser(t.app)
    const { email, password } = user
    const ok = await send({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })
    expect(ok.res.statusCode).toBe(200)
    const okRow = await exactlyOne({ action: 'auth.login', outcome: 'success', requestId: ok.requestId }, ok.started)
    expect(okRow).toMatchObject({ actorId: user.id, actorType: 'user', targetType: 'session', targetId: ok.res.json().sessionId })

    const wrong = `Wrong-${randomBytes(9).toString('base64url')}`
    const bad = await send({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: wrong } })
    expect(bad.res.statusCode).toBe(401)
    const badRow = await exactlyOne({ action: 'auth.login', outcome: 'failure', requestId: bad.requestId }, bad.started)
    expect(badRow).toMatchObject({ actorId: null, actorType: 'anonymous', targetType: 'user', targetId: user.id, details: { reason: 'wrong_password' } })
    expect(JSON.stringify(badRow)).not.toContain(wrong)
  })

  it('refresh token reuse after the grace window', async () => {
    const user = await makeUser(t.app)
    const rotated = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: user.refreshToken } })
    expect(rotated.statusCode).toBe(200)
    // Instead of waiting 10 s, the rotation is moved 11 s into the past.
    const client = new pg.Client({ connectionString: t.db.url })
    await client.connect()
    try {
      const moved = await client.query("UPDATE refresh_tokens SET rotated_at = now() - interval '11 seconds' WHERE session_id = $1 AND rotated_at IS NOT NULL", [user.sessionId])
      expect(moved.rowCount).toBe(1)
    } finally {
      await client.end()
    }
    const reuse = await send({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: user.refreshToken } })
    expect(reuse.res.statusCode).toBe(401)
    const row = await exactlyOne({ action: 'auth.refresh_reuse_detected', outcome: 'failure', requestId: reuse.requestId }, reuse.started)
    expect(row).toMatchObject({ actorId: user.id, actorType: 'user', targetType: 'session', targetId: user.sessionId })
  })

  it('logout', async () => {
    const user = await makeUser(t.app)
    const { res, requestId, started } = await send(as(user, { method: 'POST', url: '/api/v1/auth/logout' }))
    expect(res.statusCode).toBe(204)
    const row = await exactlyOne({ action: 'auth.logout', outcome: 'success', requestId }, started)
    expect(row).toMatchObject({ actorId: user.id, actorType: 'user', targetType: 'session', targetId: user.sessionId })
  })

  it('password change', async () => {
    const user = await makeUser(t.app)
    const newPassword = strongPassword()
    const { res, requestId, started } = await send(as(user, { method: 'POST', url: '/api/v1/users/me/password', payload: { currentPassword: user.password, newPassword } }))
    expect(res.statusCode).toBe(204)
    const row = await exactlyOne({ action: 'user.password_changed', outcome: 'success', requestId }, started)
    expect(row).toMatchObject({ actorId: user.id, actorType: 'user', targetType: 'user', targetId: user.id })
    expect(JSON.stringify(row)).not.toContain(newPassword)
    expect(JSON.stringify(row)).not.toContain(user.password)
  })

  it('admin role change and disable', async () => {
    const user = await makeUser(t.app)
    const roles = await send(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, payload: { roles: ['user', 'admin'] } }))
    expect(roles.res.statusCode).toBe(200)
    const roleRow = await exactlyOne({ action: 'user.roles_changed', outcome: 'success', requestId: roles.requestId }, roles.started)
    expect(roleRow).toMatchObject({ actorId: admin.id, actorType: 'user', targetType: 'user', targetId: user.id, details: { from: ['user'], to: ['user', 'admin'] } })

    const disable = await send(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, payload: { status: 'disabled' } }))
    expect(disable.res.statusCode).toBe(200)
    const disableRow = await exactlyOne({ action: 'user.disabled', outcome: 'success', requestId: disable.requestId }, disable.started)
    expect(disableRow).toMatchObject({ actorId: admin.id, targetType: 'user', targetId: user.id })
  })

  it('access denied', async () => {
    const user = await makeUser(t.app)
    const { res, requestId, started } = await send(as(user, { method: 'GET', url: '/api/v1/admin/users' }))
    expect(res.statusCode).toBe(403)
    const row = await exactlyOne({ action: 'access.denied', outcome: 'denied', requestId }, started)
    expect(row).toMatchObject({ actorId: user.id, actorType: 'user', details: { permission: 'user:read', route: '/api/v1/admin/users' } })
  })
})

describe('GET /api/v1/admin/audit', () => {
  const tag = randomBytes(6).toString('hex')
  const actorA = '0190a6f0-0000-7000-8000-00000000000a'
  const started = new Date()

  beforeAll(async () => {
    // 25 events of our own, emitted the way modules report them, so the assertions are exact.
    for (let i = 0; i < 25; i++) {
      t.app.securityEvents.emit({
        action: i % 2 ? `probe${tag}.odd` : `probe${tag}.even`,
        outcome: i % 5 === 0 ? 'denied' : 'success',
        actorId: i < 10 ? actorA : null,
        targetType: `probe${tag}`,
        targetId: `item-${i}`,
        details: { n: i, nested: { list: [1, 'two', { three: 3 }] } }
      })
      // Distinct milliseconds for a third of them, equal ones for the rest: the cursor must handle both.
      if (i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await t.app.audit.flush()
  })

  const list = async (query: Record<string, string | number>, user: TestUser = admin) =>
    t.app.inject(as(user, { method: 'GET', url: '/api/v1/admin/audit', query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) }))

  it('pages newest first with an opaque cursor, without gaps or repeats', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await list({ targetType: `probe${tag}`, limit: 10, ...(cursor ? { cursor } : {}) })
      expect(res.statusCode).toBe(200)
      const body = res.json() as { items: Array<{ targetId: string, createdAt: string, id: string }>, nextCursor: string | null }
      seen.push(...body.items.map((e) => e.targetId))
      cursor = body.nextCursor
      pages++
    } while (cursor && pages < 10)
    expect(pages).toBe(3)
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `item-${24 - i}`))
  })

  it('returns the documented fields, times in UTC', async () => {
    const res = await list({ targetType: `probe${tag}`, targetId: 'item-3' })
    const [item] = res.json().items
    expect(Object.keys(item).sort()).toEqual(['action', 'actorId', 'actorType', 'createdAt', 'details', 'id', 'ip', 'outcome', 'requestId', 'targetId', 'targetType', 'userAgent'])
    expect(item).toMatchObject({ action: `probe${tag}.odd`, outcome: 'success', actorId: actorA, actorType: 'user', ip: null, details: { n: 3, nested: { list: [1, 'two', { three: 3 }] } } })
    expect(item.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(Date.parse(item.createdAt)).toBeGreaterThanOrEqual(started.getTime())
  })

  it('filters by actor, exact action, action prefix, outcome, target and time', async () => {
    const count = async (query: Record<string, string | number>) => {
      const res = await list({ limit: 100, ...query })
      expect(res.statusCode).toBe(200)
      return (res.json().items as unknown[]).length
    }
    expect(await count({ targetType: `probe${tag}`, actorId: actorA })).toBe(10)
    expect(await count({ action: `probe${tag}.odd` })).toBe(12)
    expect(await count({ action: `probe${tag}.*` })).toBe(25)
    expect(await count({ action: `probe${tag}*` })).toBe(25)
    expect(await count({ action: `probe${tag}.od` })).toBe(0)
    expect(await count({ action: `probe${tag}.*`, outcome: 'denied' })).toBe(5)
    expect(await count({ targetType: `probe${tag}`, targetId: 'item-7' })).toBe(1)
    expect(await count({ targetType: `probe${tag}`, from: started.toISOString() })).toBe(25)
    expect(await count({ targetType: `probe${tag}`, to: started.toISOString() })).toBe(0)
    expect(await count({ targetType: `probe${tag}`, from: new Date(Date.now() + 60_000).toISOString() })).toBe(0)
    // `_` is not a wildcard in a prefix.
    expect(await count({ action: `probe${tag}_*` })).toBe(0)
  })

  it('refuses a tampered cursor, a bad filter and an oversized page with 400', async () => {
    const first = (await list({ targetType: `probe${tag}`, limit: 1 })).json()
    const tampered = Buffer.from(JSON.stringify(['not a date', 'x'])).toString('base64url')
    const bad: Array<Record<string, string | number>> = [{ cursor: tampered }, { cursor: `${first.nextCursor}x` }, { cursor: 'garbage!' }, { limit: 101 }, { action: 'auth.*.*' },
      { actorId: 'nope' }, { from: 'yesterday' }, { outcome: 'maybe' }, { unknown: 1 }]
    for (const query of bad) {
      const res = await list(query)
      expect(res.statusCode, JSON.stringify(query)).toBe(400)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    }
  })

  it('is for admins only: 403 for a user (and audited), 401 anonymous', async () => {
    const user = await makeUser(t.app)
    const res = await list({}, user)
    expect(res.statusCode).toBe(403)
    expect(res.json().code).toBe('FORBIDDEN')
    await expectAudit(t, { action: 'access.denied', outcome: 'denied', actorId: user.id, requestId: res.headers['x-request-id'] as string })
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/admin/audit' })
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/)
  })

  it('shows a user their own trail through the actor filter', async () => {
    const user = await makeUser(t.app)
    await login(t.app, user.email, user.password)
    await expectAudit(t, { action: 'auth.login', outcome: 'success', actorId: user.id })
    await t.app.audit.flush()
    const rows = await auditRows(t, { action: 'auth.login', outcome: 'success', actorId: user.id })
    const res = await list({ actorId: user.id, action: 'auth.*' })
    expect(res.json().items.map((e: { id: string }) => e.id)).toEqual(rows.map((r) => r.id))
    expect(rows).toHaveLength(2)
  })
})
