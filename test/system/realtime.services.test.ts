import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRealtimeClient, type RealtimeEvent } from '../../sdk/realtime.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { eventsOf, listen, openSocket, subscribe } from '../helpers/realtime.ts'
import { canConnectRedis, redisUrl, requireServices } from '../helpers/services.ts'
import { makeProject } from '../helpers/work.ts'

// Any node serves any socket: two nodes behind no sticky load balancer, one PostgreSQL and one
// Redis. What is written on node B reaches a socket on node A, in order; a session ended on B
// closes its socket on A; a ticket from B opens a socket on A, once.
const available = await canConnectRedis()
if (!available && requireServices) throw new Error(`Redis does not answer at ${redisUrl} (BACKPLANE_REQUIRE_SERVICES=1)`)

async function until (check: () => boolean, ms = 5000): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.skipIf(!available)('realtime across two nodes sharing PostgreSQL and Redis', () => {
  let a: TestApp
  let b: TestApp
  let urlA: string
  let urlB: string
  let alice: TestUser
  let project: string
  beforeAll(async () => {
    a = await createTestApp({ env: { REDIS_URL: redisUrl } })
    b = await createTestApp({ env: { REDIS_URL: redisUrl }, database: a.db })
    // Both listen, so both run the relay (one at a time, by advisory lock).
    urlA = await listen(a.app)
    urlB = await listen(b.app)
    alice = await makeUser(a.app)
    project = await makeProject(b.app, alice)
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  it('a client on node A receives, in order, the events caused by writes on node B', async () => {
    const s = await openSocket(urlA, { token: alice.accessToken })
    await s.next((m) => m.type === 'ready')
    expect(await subscribe(s, `project:${project}`)).toMatchObject({ type: 'subscribed' })
    const names = Array.from({ length: 20 }, (_v, i) => `name ${i}`)
    for (const name of names) {
      const res = await b.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/projects/${project}`, payload: { name } }))
      expect(res.statusCode, res.body).toBe(200)
    }
    await s.next(() => eventsOf(s).filter((m) => m.event === 'project.updated').length === names.length, 10_000)
    expect(eventsOf(s).filter((m) => m.event === 'project.updated').map((m) => m.data?.name)).toEqual(names)
    s.ws.close()
  })

  it('the sdk client resumes on node B what it missed while away from node A', async () => {
    const got: Array<RealtimeEvent<{ name: string }>> = []
    const first = createRealtimeClient({ url: urlA, token: alice.accessToken, WebSocket })
    await first.subscribe<{ name: string }>(`project:${project}`, (e) => { got.push(e) }).ready
    await b.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/projects/${project}`, payload: { name: 'before' } }))
    await until(() => got.some((e) => e.data.name === 'before'))
    const last = first.lastEventId(`project:${project}`)!
    first.close()
    for (const name of ['away 1', 'away 2']) await a.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/projects/${project}`, payload: { name } }))
    const second = createRealtimeClient({ url: urlB, token: alice.accessToken, WebSocket })
    await second.subscribe<{ name: string }>(`project:${project}`, (e) => { got.push(e) }, { lastEventId: last }).ready
    await until(() => got.some((e) => e.data.name === 'away 2'))
    expect(got.map((e) => e.data.name).slice(-3)).toEqual(['before', 'away 1', 'away 2'])
    second.close()
  })

  it('a logout on node B closes the session\'s socket on node A at once', async () => {
    const user = await makeUser(a.app)
    const s = await openSocket(urlA, { token: user.accessToken })
    await s.next((m) => m.type === 'ready')
    const started = Date.now()
    expect((await b.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/logout' }))).statusCode).toBe(204)
    expect(await s.closed).toMatchObject({ code: 4003, reason: 'session ended: logout' })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('a ticket from node B opens a socket on node A, once', async () => {
    const res = await b.app.inject(as(alice, { method: 'POST', url: '/api/v1/realtime/ticket' }))
    const { ticket } = res.json() as { ticket: string }
    const s = await openSocket(urlA, { ticket })
    await s.next((m) => m.type === 'ready')
    await expect(openSocket(urlB, { ticket })).rejects.toMatchObject({ status: 401 })
    s.ws.close()
  })
})
