import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { privateRedis, type PrivateRedis } from '../helpers/private-redis.ts'
import { waitFor } from '../helpers/queue.ts'

// SECURITY.md RL-03 with the Redis breakers of issue #12: a redis-server of this test's own (never
// the shared one) is killed under traffic and started again. Every Redis use sits behind a breaker
// in the one registry — `redis-cache` (the cache's L2), `redis-rate-limit` (the shared counters),
// `redis-pubsub` (the event relay's publishes) — so readiness names each while it is open.
let redis: PrivateRedis
let t: TestApp
const REDIS_BREAKERS = ['redis-cache', 'redis-pubsub', 'redis-rate-limit']

interface Outcome { at: number, ms: number, status: number, what: string }
interface Ready { status: string, checks: Record<string, { status: string }>, breakers?: Record<string, string> }

beforeAll(async () => {
  redis = await privateRedis()
  await redis.start()
  t = await createTestApp({ env: { REDIS_URL: redis.url } })
  // The event relay runs once the server listens.
  await t.app.listen({ port: 0, host: '127.0.0.1' })
}, 60_000)
afterAll(async () => {
  await t?.close()
  await redis?.kill()
})

const ready = async (): Promise<Ready> => (await t.app.inject({ method: 'GET', url: '/health/ready' })).json<Ready>()

/** traffic runs one round of what touches Redis: an authenticated read (rate limit, cache), a change that publishes an event, a sign-out (a cache delete). */
async function traffic (owner: TestUser, users: TestUser[], out: Outcome[]): Promise<void> {
  const timed = async (what: string, run: () => Promise<{ statusCode: number }>) => {
    const at = Date.now()
    const res = await run()
    out.push({ at, ms: Date.now() - at, status: res.statusCode, what })
  }
  await timed('me', () => t.app.inject(as(owner, { method: 'GET', url: '/api/v1/users/me' })))
  await timed('project', () => t.app.inject(as(owner, { method: 'POST', url: '/api/v1/projects', payload: { name: 'redis-breakers' } })))
  const user = users.shift()
  if (user) await timed('logout', () => t.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/logout' })))
}

it('RL-03: Redis killed under traffic opens the redis-cache, redis-rate-limit and redis-pubsub breakers (readiness degraded, names them; no 5xx, no hang), and started again closes them', { timeout: 90_000 }, async () => {
  const owner = await makeUser(t.app)
  const users = await Promise.all(Array.from({ length: 30 }, () => makeUser(t.app)))
  // A node that has just started proves its Redis bus before readiness says ok.
  const before = await waitFor(ready, (r) => r.status === 'ok', 15_000)
  expect(before.status).toBe('ok')
  expect(before.breakers).toBeUndefined()

  await redis.kill()
  const killedAt = Date.now()
  const down: Outcome[] = []
  let degraded: Ready | undefined
  let last: Ready | undefined
  while (Date.now() - killedAt < 8000) {
    await traffic(owner, users, down)
    const r = await ready()
    last = r
    if (REDIS_BREAKERS.every((name) => r.breakers?.[name] !== undefined)) { degraded = r; break }
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
  const openedMs = Date.now() - killedAt

  await redis.start()
  const startedAt = Date.now()
  const up: Outcome[] = []
  let recoveredMs = -1
  while (Date.now() - startedAt < 15_000) {
    await traffic(owner, users, up)
    const r = await ready()
    if (r.status === 'ok' && r.breakers === undefined) { recoveredMs = Date.now() - startedAt; break }
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  const all = [...down, ...up]
  const maxDown = Math.max(...down.map((o) => o.ms))
  console.log(`R-REDIS-BREAKERS: ${all.length} requests (${down.length} with Redis down), ${all.filter((o) => o.status >= 500).length} answered 5xx, max latency with Redis down ${maxDown} ms; all three breakers named ${openedMs} ms after the kill; readiness ok again ${recoveredMs} ms after the restart`)

  expect(degraded, `every Redis breaker named by readiness (last: ${JSON.stringify(last)})`).toBeDefined()
  expect(degraded!.status).toBe('degraded')
  expect(degraded!.checks.database?.status).toBe('ok')
  for (const name of REDIS_BREAKERS) {
    expect(degraded!.breakers![name]).toMatch(/^(open|half-open)$/)
    expect(metrics).toMatch(new RegExp(`backplane_breaker_state\\{dependency="${name}"\\} [12]`))
  }
  // Redis is never required to serve: nothing failed, nothing waited out a timeout.
  expect(all.filter((o) => !(o.status === 200 || o.status === 201 || o.status === 204))).toEqual([])
  expect(maxDown).toBeLessThan(2000)
  expect(recoveredMs).toBeGreaterThanOrEqual(0)
  expect(recoveredMs).toBeLessThan(5000)
  // Events recorded while Redis was down waited in the outbox and were all published.
  const unpublished = async () => Number((await t.app.dbPool.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0].n)
  const deadline = Date.now() + 5000
  while (await unpublished() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  expect(await unpublished()).toBe(0)
  // One log line per transition, not one per refused call.
  const transitions = t.logs.lines().filter((l) => l.module === 'breakers' && REDIS_BREAKERS.includes(String(l.dependency)))
  for (const name of REDIS_BREAKERS) {
    const own = transitions.filter((l) => l.dependency === name).map((l) => l.breaker)
    expect(own[0], name).toBe('open')
    expect(own.at(-1), name).toBe('closed')
    expect(own.length, name).toBeLessThan(20)
  }
})
