import { afterEach, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser } from '../helpers/auth.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { privateRedis, type PrivateRedis } from '../helpers/private-redis.ts'

// README: sign-out and disabling take effect at once on every node. Two nodes share one database
// and a redis-server of this test's own (never the shared one), which the test kills and starts.
const open: Array<() => Promise<void>> = []
afterEach(async () => { for (const close of open.splice(0).reverse()) await close().catch(() => {}) })

async function twoNodes (redis: PrivateRedis): Promise<[TestApp, TestApp]> {
  const db = await createTestDatabase()
  open.push(db.drop)
  const env = { REDIS_URL: redis.url }
  const a = await createTestApp({ env, database: db })
  open.push(a.close)
  const b = await createTestApp({ env, database: db })
  open.push(b.close)
  return [a, b]
}

const me = (t: TestApp, user: { accessToken: string }) => t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me' }))

async function busJoined (t: TestApp, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs
  while (Date.now() < deadline) {
    const ready = (await t.app.inject({ method: 'GET', url: '/health/ready' })).json<{ checks: Record<string, { status: string }> }>()
    if (ready.checks.redis?.status === 'ok') return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

/** refusedWithin signs out on A and polls B until it refuses the token; it returns the delay in ms. */
async function signOutDelay (a: TestApp, b: TestApp, user: { accessToken: string }): Promise<number> {
  expect((await me(b, user)).statusCode).toBe(200) // B has the session cached now
  const started = Date.now()
  expect((await a.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/logout' }))).statusCode).toBe(204)
  while (Date.now() - started < 5000) {
    if ((await me(b, user)).statusCode === 401) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return Infinity
}

it('revocation with Redis killed: a sign-out on node A is refused on node B within 1 s (sessions checked against PostgreSQL)', { timeout: 90_000 }, async () => {
  const redis = await privateRedis()
  await redis.start()
  open.push(redis.kill)
  const [a, b] = await twoNodes(redis)
  expect(await busJoined(b, 10_000)).toBe(true)

  const before = await makeUser(a.app)
  const withBus = await signOutDelay(a, b, before)

  await redis.kill()
  const user = await makeUser(a.app)
  const withoutBus = await signOutDelay(a, b, user)
  console.log(`revocation delay on node B: ${withBus} ms with the Redis bus, ${withoutBus} ms with Redis killed`)
  expect(withBus).toBeLessThan(1000)
  expect(withoutBus).toBeLessThan(1000)
  expect(b.logs.lines().some((l) => l.bus === 'lost')).toBe(true)

  // Redis back: the bus is joined again and revocations travel through it once more.
  await redis.start()
  expect(await busJoined(b, 10_000)).toBe(true)
  const after = await makeUser(a.app)
  expect(await signOutDelay(a, b, after)).toBeLessThan(1000)
})

it('a node started while Redis was down joins the invalidation bus when Redis starts: revocation from another node is immediate', { timeout: 90_000 }, async () => {
  const redis = await privateRedis()
  open.push(redis.kill)
  const [a, b] = await twoNodes(redis)
  const ready = (await b.app.inject({ method: 'GET', url: '/health/ready' })).json<{ status: string }>()
  expect(ready.status).toBe('degraded')

  // Meanwhile sessions are checked against PostgreSQL.
  const early = await makeUser(a.app)
  expect(await signOutDelay(a, b, early)).toBeLessThan(1000)

  await redis.start()
  expect(await busJoined(a, 15_000)).toBe(true)
  expect(await busJoined(b, 15_000)).toBe(true)
  expect(b.logs.lines().some((l) => l.bus === 'joined')).toBe(true)
  const user = await makeUser(a.app)
  // The refusal must come through the bus (B deleting its cached entry), not from the PostgreSQL fallback.
  let received = 0
  b.app.cache.on('bus:message:received', () => { received++ })
  const delay = await signOutDelay(a, b, user)
  console.log(`revocation delay on a node started without Redis, after Redis started: ${delay} ms`)
  expect(delay).toBeLessThan(1000)
  expect(received).toBeGreaterThan(0)
})
