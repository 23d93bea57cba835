import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { canConnectRedis, redisUrl, requireServices } from '../helpers/services.ts'

// Two nodes of one deployment (one database, one Redis): a registry change made on A reaches B's
// CORS allow-list and key checks within seconds, through pubsub and the cache bus. The periodic
// reload is set to an hour, so passing proves the pubsub path, not the safety net.
const redisUp = await canConnectRedis(redisUrl)
if (requireServices && !redisUp) throw new Error(`the services lane needs Redis at ${redisUrl} (BACKPLANE_REQUIRE_SERVICES=1: this is a failure, not a skip)`)

// Normally well under 100 ms; the bound leaves room for a loaded CI machine and is still ~1/700 of the reload.
const WITHIN_MS = 5000
const env = { REDIS_URL: redisUrl, FRONTENDS_RELOAD_SECONDS: '3600' }

describe.skipIf(!redisUp)('frontends across two nodes', () => {
  let a: TestApp
  let b: TestApp
  let admin: TestUser
  beforeAll(async () => {
    a = await createTestApp({ env })
    b = await createTestApp({ env, database: a.db })
    admin = await makeUser(a.app, { roles: ['admin'] })
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  let n = 0
  const origin = () => `https://node-${Date.now().toString(36)}-${n++}.example.test`
  const acaoOnB = async (from: string) => (await b.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin: from } })).headers['access-control-allow-origin']
  const keyOnB = async (key: string) => (await b.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { 'x-frontend-key': key } })).statusCode
  const create = async (origins: string[]) => {
    const res = await a.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: `node-${Date.now().toString(36)}-${n++}`, origins } }))
    expect(res.statusCode, res.body).toBe(201)
    return { id: res.json().frontend.id as string, key: res.json().apiKey as string }
  }
  const within = async (check: () => Promise<void>) => {
    const started = Date.now()
    await vi.waitFor(check, { timeout: WITHIN_MS, interval: 10 })
    return Date.now() - started
  }

  it('a frontend created on A is allowed by B within a second, without a restart', async () => {
    const from = origin()
    expect(await acaoOnB(from)).toBeUndefined()
    await create([from])
    const ms = await within(async () => { expect(await acaoOnB(from)).toBe(from) })
    expect(ms).toBeLessThan(WITHIN_MS)
  })

  it('disabling on A drops the origin and refuses the key on B within a second; enabling brings both back', async () => {
    const from = origin()
    const { id, key } = await create([from])
    await within(async () => { expect(await acaoOnB(from)).toBe(from) })
    expect(await keyOnB(key)).toBe(200)
    await a.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${id}`, payload: { enabled: false } }))
    await within(async () => {
      expect(await acaoOnB(from)).toBeUndefined()
      expect(await keyOnB(key)).toBe(401)
    })
    await a.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${id}`, payload: { enabled: true } }))
    await within(async () => {
      expect(await acaoOnB(from)).toBe(from)
      expect(await keyOnB(key)).toBe(200)
    })
  })

  it('a key rotated on A is refused on B at once, though B had it cached; the new key works on B', async () => {
    const { id, key } = await create([])
    await within(async () => { expect(await keyOnB(key)).toBe(200) })
    expect(await keyOnB(key)).toBe(200)
    const rotated = await a.app.inject(as(admin, { method: 'POST', url: `/api/v1/admin/frontends/${id}/rotate-key` }))
    expect(rotated.statusCode).toBe(200)
    await within(async () => { expect(await keyOnB(key)).toBe(401) })
    expect(await keyOnB(rotated.json().apiKey)).toBe(200)
  })

  it('a frontend deleted on A loses its origin and key on B within a second', async () => {
    const from = origin()
    const { id, key } = await create([from])
    await within(async () => {
      expect(await acaoOnB(from)).toBe(from)
      expect(await keyOnB(key)).toBe(200)
    })
    await a.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/frontends/${id}` }))
    await within(async () => {
      expect(await acaoOnB(from)).toBeUndefined()
      expect(await keyOnB(key)).toBe(401)
    })
  })
})
