import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, strongPassword, uniqueEmail, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { adminQuery } from '../../../test/helpers/services.ts'

// Function-level access (AZ-04), mass assignment (AZ-05), no secrets in responses (AZ-06, checked
// on every response of this file by scanResponses), list bounds and cursors (RC-01) and prototype
// poisoning (CF-07) on the users and admin routes.

let t: TestApp
let admin: TestUser
let user: TestUser
let target: TestUser
let scanned: { count: () => number }
beforeAll(async () => {
  t = await createTestApp()
  scanned = scanResponses(t.app)
  admin = await makeUser(t.app, { roles: ['admin'] })
  user = await makeUser(t.app)
  target = await makeUser(t.app)
})
afterAll(async () => {
  // Every response this file received went through the secret scan.
  expect(scanned.count()).toBeGreaterThan(50)
  await t.close()
})

const sql = (text: string, params: unknown[] = []) => adminQuery(t.db.url, text, params)
const fingerprint = async () => (await sql("SELECT md5(string_agg(u::text, ',' ORDER BY id)) AS h FROM users u")).rows[0].h as string
const invitations = async () => (await sql("SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'invite'")).rows[0].n as number

function adminRoutes (): Array<{ name: string, options: InjectOptions }> {
  return [
    { name: 'GET list', options: { method: 'GET', url: '/api/v1/admin/users' } },
    { name: 'HEAD list', options: { method: 'HEAD', url: '/api/v1/admin/users' } },
    { name: 'GET one', options: { method: 'GET', url: `/api/v1/admin/users/${target.id}` } },
    { name: 'HEAD one', options: { method: 'HEAD', url: `/api/v1/admin/users/${target.id}` } },
    { name: 'PATCH roles', options: { method: 'PATCH', url: `/api/v1/admin/users/${target.id}`, payload: { roles: ['admin'] } } },
    { name: 'PATCH status', options: { method: 'PATCH', url: `/api/v1/admin/users/${target.id}`, payload: { status: 'disabled' } } },
    { name: 'DELETE', options: { method: 'DELETE', url: `/api/v1/admin/users/${target.id}` } },
    { name: 'POST invitation', options: { method: 'POST', url: '/api/v1/admin/invitations', payload: { email: uniqueEmail('invite') } } },
    // Invalid input must not be validated (and described) before the caller is known.
    { name: 'PATCH invalid body', options: { method: 'PATCH', url: `/api/v1/admin/users/${target.id}`, payload: { nope: 1 } } },
    { name: 'GET malformed id', options: { method: 'GET', url: '/api/v1/admin/users/not-a-uuid' } },
    { name: 'GET bad query', options: { method: 'GET', url: '/api/v1/admin/users?limit=abc' } },
    { name: 'POST invitation without body', options: { method: 'POST', url: '/api/v1/admin/invitations' } }
  ]
}

function expectProblem (res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, `${res.statusCode} ${res.body}`).toBe(status)
  if (res.body) expect(res.json().code).toBe(code)
}

describe('AZ-04 admin routes', () => {
  it('refuse a regular user with 403 and an anonymous caller with 401, with no side effect', async () => {
    const before = { users: await fingerprint(), invitations: await invitations(), mail: t.mail.length }
    for (const { name, options } of adminRoutes()) {
      const anonymous = await t.app.inject(options)
      expect(anonymous.statusCode, `anonymous ${name}: ${anonymous.body}`).toBe(401)
      if (options.method !== 'HEAD') expect(anonymous.json().code).toBe('AUTH_REQUIRED')
      expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer\b/)
      const regular = await t.app.inject(as(user, options))
      expect(regular.statusCode, `user ${name}: ${regular.body}`).toBe(403)
      if (options.method !== 'HEAD') expect(regular.json().code).toBe('FORBIDDEN')
    }
    expect(await fingerprint()).toBe(before.users)
    expect(await invitations()).toBe(before.invitations)
    expect(t.mail.length).toBe(before.mail)
    expect((await t.app.inject(as(target, { method: 'GET', url: '/api/v1/users/me' }))).json()).toMatchObject({ roles: ['user'], status: 'active' })
  })

  it('answer OPTIONS and TRACE without running the route or returning data', async () => {
    for (const method of ['OPTIONS', 'TRACE'] as const) {
      const res = await t.app.inject(as(user, { method, url: '/api/v1/admin/users', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } }))
      expect([204, 400, 404, 405], `${method} ${res.statusCode}`).toContain(res.statusCode)
      expect(res.body).not.toContain(target.email)
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
    }
  })

  it('let an admin through (the same requests are not refused for everyone)', async () => {
    expect((await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users/${target.id}` }))).statusCode).toBe(200)
    expect((await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/users' }))).statusCode).toBe(200)
  })

  it('refuse a user whose own profile routes work, and a garbage or wrong-scheme credential with 401', async () => {
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
    for (const authorization of ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Bearer ${user.accessToken} x`, `Token ${user.accessToken}`]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(401)
    }
  })

  it('refuse credentials in the URL', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/users/me?access_token=${admin.accessToken}` })
    expectProblem(res, 401, 'AUTH_CREDENTIALS_IN_URL')
  })
})

describe('AZ-05 mass assignment on PATCH /api/v1/users/me', () => {
  it.each([
    ['roles', { roles: ['admin'] }],
    ['emailVerified', { emailVerified: true }],
    ['status', { status: 'active' }],
    ['email', { email: 'x@y.example' }],
    ['passwordHash', { passwordHash: 'x' }],
    ['id', { id: '00000000-0000-7000-8000-000000000000' }],
    ['name + roles', { name: 'Mallory', roles: ['admin'] }],
    ['lockedUntil', { failedLogins: 0, lockedUntil: null }]
  ])('refuses %s with 400 and changes nothing', async (_name, payload) => {
    const victim = await makeUser(t.app)
    await sql('UPDATE users SET email_verified_at = NULL WHERE id = $1', [victim.id])
    const before = (await sql('SELECT * FROM users WHERE id = $1', [victim.id])).rows[0]
    const res = await t.app.inject(as(victim, { method: 'PATCH', url: '/api/v1/users/me', payload }))
    expectProblem(res, 400, 'VALIDATION_FAILED')
    expect((await sql('SELECT * FROM users WHERE id = $1', [victim.id])).rows[0]).toEqual(before)
    const again = await login(t.app, victim.email, victim.password)
    const me = (await t.app.inject(as(again, { method: 'GET', url: '/api/v1/users/me' }))).json()
    expect(me).toMatchObject({ roles: ['user'], emailVerified: false, status: 'active', email: victim.email, name: '' })
    expect((await t.app.inject(as(again, { method: 'GET', url: '/api/v1/admin/users' }))).statusCode).toBe(403)
  })

  it('still lets a user change their name, and the reply holds only public fields', async () => {
    const res = await t.app.inject(as(user, { method: 'PATCH', url: '/api/v1/users/me', payload: { name: 'Ada' } }))
    expect(res.statusCode).toBe(200)
    expect(Object.keys(res.json()).sort()).toEqual(['createdAt', 'email', 'emailVerified', 'id', 'lastLoginAt', 'name', 'roles', 'status'])
  })

  it('refuses an admin PATCH with fields outside roles, status and name', async () => {
    for (const payload of [{ email: 'a@b.example' }, { passwordHash: 'x' }, { status: 'deleted' }, { roles: ['root'] }]) {
      const res = await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${target.id}`, payload }))
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
    }
    expect((await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users/${target.id}` }))).json()).toMatchObject({ roles: ['user'], status: 'active', email: target.email })
  })
})

describe('AZ-06 no secrets in any response', () => {
  it('sends no hash or key in user views, lists, sessions, JWKS or token replies', async () => {
    const replies = [
      await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/users?limit=100' })),
      await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users/${user.id}` })),
      await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me/sessions' })),
      await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }),
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: user.password } })
    ]
    for (const res of replies) expect(res.statusCode).toBe(200)
    for (const key of replies[3]!.json().keys) expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x'])
    const listed = replies[0]!.json().items as Array<Record<string, unknown>>
    expect(listed.length).toBeGreaterThan(2)
    for (const item of listed) expect(Object.keys(item)).not.toContain('failedLogins')
  })
})

describe('RC-01 the admin list', () => {
  const list = (query: string) => t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/users?${query}` }))

  it.each(['limit=1000000', 'limit=-1', 'limit=0', 'limit=1e309', 'limit=abc', 'limit=10.5', 'limit=101', 'limit=', 'limit=1&limit=2'])('refuses %s with 400', async (query) => {
    expectProblem(await list(query), 400, 'VALIDATION_FAILED')
  })

  it('accepts the bounds 1 and 100', async () => {
    expect((await list('limit=1')).json().items).toHaveLength(1)
    expect((await list('limit=100')).statusCode).toBe(200)
  })

  it.each([
    ['garbage', 'not-a-cursor'],
    ['base64 of garbage', Buffer.from('hello').toString('base64url')],
    ['wrong shape', Buffer.from(JSON.stringify({ at: 1 })).toString('base64url')],
    ['SQL in the id', Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', "' OR 1=1--"])).toString('base64url')],
    ['bad date', Buffer.from(JSON.stringify(['yesterday', '0190a000-0000-7000-8000-000000000000'])).toString('base64url')],
    ['too long', 'A'.repeat(1000)],
    ['an id that is not a UUID', Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', '-'.repeat(36)])).toString('base64url')],
    ['a date PostgreSQL cannot hold', Buffer.from(JSON.stringify(['-271821-04-20T00:00:00.000Z', '0190a000-0000-7000-8000-000000000000'])).toString('base64url')]
  ])('refuses a tampered cursor (%s) with 400', async (_name, cursor) => {
    expectProblem(await list(`cursor=${encodeURIComponent(cursor)}`), 400, 'VALIDATION_FAILED')
  })

  async function pageAll (q: string, limit: number): Promise<string[]> {
    const seen: string[] = []
    let cursor: string | null = null
    for (let pages = 0; pages < 20; pages++) {
      const res: LightMyRequestResponse = await list(`q=${q}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode, res.body).toBe(200)
      const body = res.json() as { items: Array<{ id: string }>, nextCursor: string | null }
      expect(body.items.length).toBeLessThanOrEqual(limit)
      seen.push(...body.items.map((i) => i.id))
      cursor = body.nextCursor
      if (!cursor) return seen
    }
    throw new Error('paging did not end')
  }

  it('pages 25 users created one by one in pages of 10 without repeating or skipping any', async () => {
    const tag = `pg${Date.now().toString(36)}`
    const ids: string[] = []
    for (let i = 0; i < 25; i++) ids.push((await t.app.users.create({ email: uniqueEmail(tag), passwordHash: null })).id)
    const seen = await pageAll(tag, 10)
    expect(seen).toHaveLength(25)
    expect(new Set(seen).size).toBe(25)
    expect([...seen].sort()).toEqual([...ids].sort())
  })

  it('pages users created in the same millisecond (created together) without repeating or skipping any', async () => {
    const tag = `same${Date.now().toString(36)}`
    // One statement: every row gets the same created_at (microseconds included), as a batch import does.
    const { rows } = await sql(`INSERT INTO users (id, email) SELECT gen_random_uuid(), '${tag}-' || g || '@example.test' FROM generate_series(1, 25) g RETURNING id`)
    const seen = await pageAll(tag, 10)
    expect(new Set(seen).size).toBe(seen.length)
    expect([...seen].sort()).toEqual(rows.map((r) => r.id as string).sort())
  })
})

describe('CF-07 prototype poisoning', () => {
  it.each(['/api/v1/auth/login', '/api/v1/auth/register'])('refuses __proto__ and constructor.prototype in the body of %s with 400', async (url) => {
    const bodies = [
      `{"email":"a@b.example","password":"${strongPassword()}","__proto__":{"admin":true}}`,
      `{"email":"a@b.example","password":"${strongPassword()}","constructor":{"prototype":{"admin":true}}}`
    ]
    for (const payload of bodies) {
      const res = await t.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } })
      expect(res.statusCode, res.body).toBe(400)
      expect(({} as Record<string, unknown>).admin).toBeUndefined()
    }
  })

  it('keeps the global prototype clean after __proto__ in the query string and as a property name', async () => {
    await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/users?__proto__[admin]=1&constructor[prototype][admin]=1' }))
    const res = await t.app.inject(as(user, { method: 'PATCH', url: '/api/v1/users/me', payload: '{"name":"x","hasOwnProperty":"y"}', headers: { 'content-type': 'application/json' } }))
    expect(res.statusCode).toBe(400)
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
    expect(Object.hasOwn(Object.prototype, 'admin')).toBe(false)
  })
})

describe('the NUL character (U+0000), which PostgreSQL cannot store', () => {
  it.each([
    { name: 'user search', options: { method: 'GET', url: '/api/v1/admin/users?q=%00' } },
    { name: 'role filter', options: { method: 'GET', url: '/api/v1/admin/users?role=a%00' } },
    { name: 'audit filter', options: { method: 'GET', url: '/api/v1/admin/audit?targetType=%00x' } },
    { name: 'profile name', options: { method: 'PATCH', url: '/api/v1/users/me', payload: { name: 'a\u0000b' } } },
    { name: 'API key name', options: { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'a\u0000b', scopes: [] } } }
  ] as Array<{ name: string, options: InjectOptions }>)('is a 400 in the $name, not a 500, and changes nothing', async ({ options }) => {
    const before = await t.app.users.get(admin.id)
    const res = await t.app.inject(as(admin, options))
    expect(res.json()).toMatchObject({ status: 400, code: 'NUL_CHARACTER', detail: 'Text must not contain the NUL character (U+0000)' })
    expect(await t.app.users.get(admin.id)).toEqual(before)
  })
})
