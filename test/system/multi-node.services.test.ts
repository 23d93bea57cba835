import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, login, makeUser, strongPassword } from '../helpers/auth.ts'
import { canConnectRedis, redisUrl, requireServices } from '../helpers/services.ts'

// Two nodes of one deployment: same PostgreSQL database, same Redis. What one node revokes,
// the other must refuse at once, although it had the session in its local memory cache.
const available = await canConnectRedis()
if (!available && requireServices) throw new Error(`Redis does not answer at ${redisUrl} (BACKPLANE_REQUIRE_SERVICES=1)`)

describe.skipIf(!available)('two nodes sharing PostgreSQL and Redis', () => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    a = await createTestApp({ env: { REDIS_URL: redisUrl } })
    b = await createTestApp({ env: { REDIS_URL: redisUrl }, database: a.db })
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  async function eventually (check: () => Promise<boolean>, ms = 1000): Promise<number> {
    const started = Date.now()
    while (Date.now() - started < ms) {
      if (await check()) return Date.now() - started
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error(`not within ${ms} ms`)
  }

  it('a logout on node A is refused on node B at once', async () => {
    const user = await makeUser(a.app)
    const me = { method: 'GET' as const, url: '/api/v1/users/me' }
    expect((await b.app.inject(as(user, me))).statusCode).toBe(200) // B caches the live session
    expect((await a.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/logout' }))).statusCode).toBe(204)
    const took = await eventually(async () => (await b.app.inject(as(user, me))).statusCode === 401)
    expect(took).toBeLessThan(5000) // the cache TTL it must beat is 30 s
  })

  it('a role change on node A removes admin rights on node B at once', async () => {
    const root = await makeUser(a.app, { roles: ['admin'] })
    const target = await makeUser(a.app, { roles: ['admin'] })
    const list = { method: 'GET' as const, url: '/api/v1/admin/users' }
    expect((await b.app.inject(as(target, list))).statusCode).toBe(200)
    const demoted = await a.app.inject(as(root, { method: 'PATCH', url: `/api/v1/admin/users/${target.id}`, payload: { roles: ['user'] } }))
    expect(demoted.statusCode).toBe(200)
    await eventually(async () => [401, 403].includes((await b.app.inject(as(target, list))).statusCode))
  })

  it('disabling a user on node A signs them out on node B', async () => {
    const root = await makeUser(a.app, { roles: ['admin'] })
    const user = await makeUser(a.app)
    const me = { method: 'GET' as const, url: '/api/v1/users/me' }
    expect((await b.app.inject(as(user, me))).statusCode).toBe(200)
    await a.app.inject(as(root, { method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, payload: { status: 'disabled' } }))
    await eventually(async () => (await b.app.inject(as(user, me))).statusCode === 401)
  })

  it('a password change on node A ends the other sessions on node B at once, tokens and refresh alike', async () => {
    const user = await makeUser(a.app)
    const other = await login(b.app, user.email, user.password)
    const me = { method: 'GET' as const, url: '/api/v1/users/me' }
    expect((await b.app.inject(as(other, me))).statusCode).toBe(200)
    const changed = await a.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/password', payload: { currentPassword: user.password, newPassword: strongPassword() } }))
    expect(changed.statusCode).toBe(204)
    await eventually(async () => (await b.app.inject(as(other, me))).statusCode === 401)
    expect((await b.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: other.refreshToken } })).statusCode).toBe(401)
    // The session that changed the password keeps working, on either node.
    expect((await b.app.inject(as(user, me))).statusCode).toBe(200)
  })
})

describe('control: two nodes WITHOUT Redis', () => {
  it('shows why REDIS_URL is needed for more than one node: node B keeps its cached session up to the 30 s cache TTL', async () => {
    const a = await createTestApp()
    const b = await createTestApp({ database: a.db })
    try {
      const user = await makeUser(a.app)
      const me = { method: 'GET' as const, url: '/api/v1/users/me' }
      expect((await b.app.inject(as(user, me))).statusCode).toBe(200)
      await a.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/logout' }))
      expect((await a.app.inject(as(user, me))).statusCode).toBe(401)
      expect((await b.app.inject(as(user, me))).statusCode).toBe(200)
    } finally {
      await b.close()
      await a.close()
    }
  })
})
