import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { createPresence } from './presence.ts'

interface Node { id: string, instance: string, ready: boolean, answering: boolean, seenSecondsAgo: number }

// Two nodes of one deployment on one database, both listening: each lists the other (#16).
describe('node presence: the overview lists every live node', () => {
  let a: TestApp
  let b: TestApp
  let admin: TestUser
  let bClosed = false
  beforeAll(async () => {
    a = await createTestApp()
    b = await createTestApp({ database: a.db })
    admin = await makeUser(a.app, { roles: ['admin'] })
    await a.app.listen({ port: 0, host: '127.0.0.1' })
    await b.app.listen({ port: 0, host: '127.0.0.1' })
  }, 60_000)
  afterAll(async () => {
    if (!bClosed) await b?.close()
    await a?.close()
  })

  const overview = async (t: TestApp): Promise<Node[]> => {
    const res = await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/overview' }))
    expect(res.statusCode).toBe(200)
    return res.json<{ nodes: Node[] }>().nodes
  }

  it('each node lists itself first, then the other one', async () => {
    const fromA = await overview(a)
    const fromB = await overview(b)
    expect(fromA).toHaveLength(2)
    expect(fromB).toHaveLength(2)
    expect(fromA[0]).toMatchObject({ answering: true, ready: true, seenSecondsAgo: 0 })
    expect(fromA[1]).toMatchObject({ answering: false, ready: true })
    // Two runs, told apart by their instance: A's first is B's second and the other way round.
    expect(fromA[0]?.instance).not.toBe(fromA[1]?.instance)
    expect(fromA[0]?.instance).toBe(fromB[1]?.instance)
    expect(fromA[1]?.instance).toBe(fromB[0]?.instance)
  })

  it('a node that stops cleanly leaves the list (after the overview\'s 10 s reuse at most)', async () => {
    bClosed = true
    await b.close()
    await expect.poll(async () => (await overview(a)).length, { timeout: 30_000, interval: 500 }).toBe(1)
    expect((await overview(a))[0]).toMatchObject({ answering: true })
  }, 40_000)
})

describe('node presence: a node that stops beating', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp() }, 60_000)
  afterAll(async () => { await t?.close() })

  it('is no longer listed once its row is older than three beats (a crashed node leaves by itself)', async () => {
    const state = async () => ({ name: 'crashed-host:1', version: '0.0.0', startedAt: new Date(), ready: true })
    const gone = createPresence({ db: t.app.db, state, beatMs: 200, onError: (err) => { throw err } })
    await gone.beat() // one beat, then silence, as after a SIGKILL
    expect((await gone.live()).map((n) => n.instance)).toContain(gone.instance)
    await expect.poll(async () => (await gone.live()).map((n) => n.instance), { timeout: 20_000, interval: 200 }).not.toContain(gone.instance)
  }, 30_000)
})
