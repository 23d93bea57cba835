import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomInt } from 'node:crypto'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import type { LightMyRequestResponse } from 'fastify'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { canConnectRedis, redisUrl, requireServices } from '../helpers/services.ts'
import { freePort } from '../../src/lib/free-port.ts'

// Shared limits with Redis (decision 6, RL-03). Runs when Redis answers; on the services lane
// (BACKPLANE_REQUIRE_SERVICES=1) a missing Redis fails the run instead of skipping. The machine's
// Redis is shared: it is never stopped here; outages are made with a local proxy in front of it.
const redisUp = await canConnectRedis()
if (requireServices && !redisUp) throw new Error(`Redis does not answer at ${redisUrl} (BACKPLANE_REQUIRE_SERVICES=1: this is a failure, not a skip)`)

// Addresses random per run, so the keys of one run never meet another's in the shared Redis.
const runNet = `10.${randomInt(256)}.${randomInt(256)}`
let last = 0
const freshIp = () => `${runNet}.${++last}`
const KEY_PREFIX = 'backplane:rate-limit:'
const LIMITS = { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5' }

// Reads the counts the apps wrote, straight from Redis.
let direct: Redis
beforeAll(() => { if (redisUp) direct = new Redis(redisUrl, { maxRetriesPerRequest: 1 }) })
afterAll(() => { direct?.disconnect() })

/** get sends one anonymous request and checks it was quick and not a server error. */
async function get (t: TestApp, ip: string): Promise<LightMyRequestResponse> {
  const started = performance.now()
  const res = await t.app.inject({ method: 'GET', url: '/api/v1/instance', remoteAddress: ip })
  expect(performance.now() - started, 'one request').toBeLessThan(1500)
  expect(res.statusCode, res.body).toBeLessThan(500)
  return res
}

async function storeCheck (t: TestApp): Promise<string> {
  const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
  return res.json().checks['rate-limit-store'].status
}

/** expectSharedAgain waits for the store check to pass and for a fresh caller's count to land in Redis. */
async function expectSharedAgain (t: TestApp): Promise<void> {
  await expect.poll(() => storeCheck(t), { timeout: 10_000 }).toBe('ok')
  const later = freshIp()
  await expect.poll(async () => {
    await get(t, later)
    return Number(await direct.get(`${KEY_PREFIX}ip:${later}`))
  }, { timeout: 10_000 }).toBeGreaterThan(0)
}

/**
 * faultyProxy forwards TCP to Redis from `port` (any free one by default) and can freeze (hold
 * every byte, like SIGSTOP), cut (drop and refuse connections) and heal.
 */
async function faultyProxy (target: URL, port = 0) {
  let mode: 'up' | 'frozen' | 'cut' = 'up'
  const held: Array<() => void> = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    if (mode === 'cut') { client.destroy(); return }
    const upstream = connect(Number(target.port || 6379), target.hostname)
    for (const s of [client, upstream]) { sockets.add(s); s.on('error', () => {}); s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() }) }
    const forward = (from: Socket, to: Socket) => from.on('data', (chunk: Buffer) => {
      if (mode === 'frozen') held.push(() => { to.write(chunk) })
      else to.write(chunk)
    })
    forward(client, upstream)
    forward(upstream, client)
  })
  await new Promise<void>((resolve) => { server.listen(port, '127.0.0.1', resolve) })
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze () { mode = 'frozen' },
    cut () {
      mode = 'cut'
      held.length = 0
      for (const s of sockets) s.destroy()
    },
    heal () {
      // Held bytes go out in order before anything new, so replies stay matched to their commands.
      for (const send of held.splice(0)) send()
      mode = 'up'
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

describe.skipIf(!redisUp)('Redis unreachable from the start', () => {
  it('starts, limits per node from memory within bounded time, reports the store failing, and shares once Redis appears', async () => {
    // A closed port of our choosing, not 127.0.0.1:1: once the assertions are made, Redis is put at
    // this address so the app can close cleanly. The cache's bus (bentocache) subscribes without
    // handling failure; while Redis has never been reachable that subscribe stays queued, and
    // closing the app then rejects it unhandled. That is the cache's bug, reported with issue 3.
    const port = await freePort()
    const t = await createTestApp({ env: { ...LIMITS, REDIS_URL: `redis://127.0.0.1:${port}` } })
    let proxy: Awaited<ReturnType<typeof faultyProxy>> | undefined
    try {
      const ip = freshIp()
      const codes: number[] = []
      for (let i = 0; i < 7; i++) codes.push((await get(t, ip)).statusCode)
      expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429])
      expect(await storeCheck(t)).toBe('fail')
      const warnings = t.logs.lines().filter((l) => l.msg === 'rate-limit store unavailable: limits are counted per node until it answers')
      expect(warnings).toHaveLength(1)
      expect(JSON.stringify(warnings[0])).toMatch(/ECONNREFUSED|writeable/)

      proxy = await faultyProxy(new URL(redisUrl), port)
      await expectSharedAgain(t)
    } finally {
      await t.close()
      await proxy?.close()
    }
  })
})

describe.skipIf(!redisUp)('limits shared through Redis', () => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    a = await createTestApp({ env: { ...LIMITS, REDIS_URL: redisUrl } })
    b = await createTestApp({ env: { ...LIMITS, REDIS_URL: redisUrl }, database: a.db })
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  it('gives two nodes one budget: 3 requests on A and 2 on B spend it, the 6th is 429 on either', async () => {
    const ip = freshIp()
    for (let i = 0; i < 3; i++) expect((await get(a, ip)).statusCode).toBe(200)
    for (let i = 0; i < 2; i++) expect((await get(b, ip)).statusCode).toBe(200)
    expect((await get(a, ip)).statusCode).toBe(429)
    expect((await get(b, ip)).statusCode).toBe(429)
    expect(Number(await direct.get(`${KEY_PREFIX}ip:${ip}`))).toBe(7)
    expect(await direct.pttl(`${KEY_PREFIX}ip:${ip}`)).toBeGreaterThan(0)
    expect(await storeCheck(a)).toBe('ok')
  })

  it('keeps limiting per node while Redis is frozen or gone, with bounded latency, and shares again once it is back (RL-03)', async () => {
    const proxy = await faultyProxy(new URL(redisUrl))
    const t = await createTestApp({ env: { ...LIMITS, REDIS_URL: proxy.url } })
    try {
      const ip = freshIp()
      await expect.poll(() => storeCheck(t), { timeout: 10_000 }).toBe('ok')
      for (let i = 0; i < 2; i++) expect((await get(t, ip)).statusCode).toBe(200)
      expect(Number(await direct.get(`${KEY_PREFIX}ip:${ip}`))).toBe(2)

      // Frozen: calls time out, the node falls back to its own counts (it saw 2 of the 5 already).
      proxy.freeze()
      const frozen: number[] = []
      for (let i = 0; i < 5; i++) frozen.push((await get(t, ip)).statusCode)
      expect(frozen).toEqual([200, 200, 200, 429, 429])
      expect(await storeCheck(t)).toBe('fail')

      // Gone: connections drop and are refused; a new client still gets exactly its budget.
      proxy.cut()
      const other = freshIp()
      const cut: number[] = []
      for (let i = 0; i < 6; i++) cut.push((await get(t, other)).statusCode)
      expect(cut).toEqual([200, 200, 200, 200, 200, 429])
      expect(await storeCheck(t)).toBe('fail')

      // Back: the store recovers by itself and counts land in Redis again.
      proxy.heal()
      await expectSharedAgain(t)
      expect(t.logs.lines().some((l) => l.msg === 'rate-limit store answers again: limits are shared across nodes')).toBe(true)
    } finally {
      await t.close()
      await proxy.close()
    }
  })
})
