import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { makeProject } from '../helpers/work.ts'
import { startReceiver, waitFor, type Receiver } from './webhooks-receiver.ts'

// Fault run R-WEBHOOK-BAD (SECURITY.md SS-03, WH-02), bounded and on loopback: receivers that fail,
// hang, drip, redirect to an internal canary, flood a huge body or answer 410, while a healthy
// endpoint's deliveries keep flowing. Figures are printed for the report.

const TIMEOUT_MS = 2000
let t: TestApp
let owner: TestUser
let canary: Receiver
const receivers: Receiver[] = []
const rawServers: Server[] = []

interface Delivery { id: string, status: string, attempts: number, lastStatusCode: number | null, lastError: string | null, responseExcerpt: string | null, durationMs: number | null }

async function receiver (...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args)
  receivers.push(r)
  return r
}

async function project (): Promise<string> {
  const id = await makeProject(t.app, owner)
  await t.app.events.relayOnce()
  return id
}

async function hook (projectId: string, url: string): Promise<string> {
  const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/webhooks`, payload: { url, eventTypes: ['*'] } }))
  if (res.statusCode !== 201) throw new Error(`webhook create failed: ${res.statusCode} ${res.body}`)
  return res.json().id as string
}

async function emit (projectId: string, count = 1): Promise<void> {
  await t.app.db.transaction(async (tx) => {
    for (let i = 0; i < count; i++) await t.app.events.record({ type: 'task.created', aggregate: `task:${randomUUID()}`, channels: [`project:${projectId}`], data: { n: i } }, tx)
  })
  while (await t.app.events.relayOnce() > 0) { /* publish every batch */ }
}

async function deliveries (hookId: string): Promise<Delivery[]> {
  const res = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${hookId}/deliveries?limit=100` }))
  return (res.json() as { items: Delivery[] }).items
}

const firstAttempt = (hookId: string) => waitFor(async () => (await deliveries(hookId)).find((d) => d.attempts >= 1 && (d.lastError !== null || d.status !== 'pending')), 15_000, 'a first attempt')

/** rawDripper accepts connections and sends the status line one byte a second (slow headers). */
async function rawDripper (): Promise<{ url: string, connections: () => number }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')
    let i = 0
    const timer = setInterval(() => { if (i < bytes.length && !socket.destroyed) socket.write(bytes.subarray(i, ++i)) }, 1000)
    socket.on('close', () => { clearInterval(timer); sockets.delete(socket) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  rawServers.push(server)
  const close = server.close.bind(server)
  Object.assign(server, { close: (cb?: (err?: Error) => void) => { for (const s of sockets) s.destroy(); return close(cb) } })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, connections: () => connections }
}

beforeAll(async () => {
  t = await createTestApp({
    env: {
      WEBHOOKS_ALLOW_PRIVATE: 'true',
      WEBHOOKS_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOKS_RETRY_SCHEDULE: '300ms,900ms,2700ms',
      WEBHOOKS_CONCURRENCY: '8',
      WEBHOOKS_PER_ENDPOINT_CONCURRENCY: '2'
    }
  })
  owner = await makeUser(t.app)
  canary = await startReceiver()
  await t.app.queue.start()
})
afterAll(async () => {
  await t.close()
  await Promise.all([...receivers.map((r) => r.close()), canary.close(), ...rawServers.map((s) => new Promise((resolve) => s.close(resolve)))])
})

describe('R-WEBHOOK-BAD (SS-03, WH-02)', () => {
  it('retries a 500 along the schedule with growing delays, then gives up', async () => {
    const p = await project()
    const failing = await receiver((_req, res) => { res.statusCode = 500; res.end('down') })
    const id = await hook(p, failing.url)
    await emit(p)
    const [d] = await waitFor(async () => { const l = await deliveries(id); return l[0]?.status === 'gave_up' ? l : undefined }, 20_000, 'giving up')
    expect(d).toMatchObject({ attempts: 4, lastStatusCode: 500, responseExcerpt: 'down' })
    const gaps = failing.requests.slice(1).map((r, i) => r.at - failing.requests[i]!.at)
    console.info(`R-WEBHOOK-BAD 500: ${failing.requests.length} attempts, gaps ${gaps.join(', ')} ms for steps 300, 900, 2700 (each jittered to 50-100 %, plus up to one 500 ms queue poll)`)
    expect(failing.requests).toHaveLength(4)
    expect(gaps[0]).toBeGreaterThanOrEqual(140)
    expect(gaps[1]).toBeGreaterThanOrEqual(440)
    expect(gaps[2]).toBeGreaterThanOrEqual(1340)
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!)
  })

  it('cuts a receiver that never answers, or drips its headers or its body, at the timeout', async () => {
    const p = await project()
    const sleeper = await receiver(() => { /* never answers */ })
    const bodyDrip = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      const timer = setInterval(() => { if (!res.destroyed) res.write('x') }, 1000)
      res.on('close', () => { clearInterval(timer) })
    })
    const headerDrip = await rawDripper()
    const ids = { sleeper: await hook(p, sleeper.url), bodyDrip: await hook(p, bodyDrip.url), headerDrip: await hook(p, headerDrip.url) }
    await emit(p)
    const results = Object.fromEntries(await Promise.all(Object.entries(ids).map(async ([name, id]) => [name, await firstAttempt(id)] as const)))
    console.info(`R-WEBHOOK-BAD timeouts (limit ${TIMEOUT_MS} ms): ${Object.entries(results).map(([n, d]) => `${n} ${d.durationMs} ms`).join(', ')}`)
    for (const d of Object.values(results)) {
      expect(d.status).toBe('pending')
      expect(d.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
      expect(d.durationMs).toBeLessThan(TIMEOUT_MS + 1000)
    }
    expect(results.sleeper!.lastError).toBe(`timed out after ${TIMEOUT_MS} ms waiting for the response`)
    expect(results.headerDrip!.lastError).toBe(`timed out after ${TIMEOUT_MS} ms waiting for the response`)
    expect(results.bodyDrip!).toMatchObject({ lastStatusCode: 200, lastError: `timed out after ${TIMEOUT_MS} ms reading the response body` })
  })

  it('does not follow a 302 to an internal address: a failure, and the canary gets nothing', async () => {
    const p = await project()
    const redirect = await receiver((_req, res) => { res.writeHead(302, { location: `${canary.url}/steal` }); res.end() })
    const id = await hook(p, redirect.url)
    await emit(p)
    const d = await firstAttempt(id)
    expect(d).toMatchObject({ status: 'pending', lastStatusCode: 302, lastError: 'redirect (302) not followed; update the endpoint URL' })
    expect(redirect.requests).toHaveLength(1)
    expect(canary.requests).toHaveLength(0)
  })

  it('reads at most 64 KiB of a huge body, keeps 1 KiB, and records the delivery', async () => {
    const p = await project()
    let sent = 0
    let closedAfterMs = 0
    const huge = await receiver((_req, res) => {
      const started = Date.now()
      const chunk = Buffer.alloc(64 * 1024, 'a')
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(1024 ** 3) })
      const pump = () => {
        while (sent < 1024 ** 3 && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) { res.once('drain', pump); return }
        }
      }
      res.on('close', () => { closedAfterMs = Date.now() - started })
      pump()
    })
    const id = await hook(p, huge.url)
    await emit(p)
    const [d] = await waitFor(async () => { const l = await deliveries(id); return l[0]?.status === 'succeeded' ? l : undefined }, 10_000, 'the delivery')
    await waitFor(() => closedAfterMs > 0, 5000, 'the connection to close')
    console.info(`R-WEBHOOK-BAD huge body: server wrote ${(sent / 1024 / 1024).toFixed(1)} MiB of 1024 MiB before the client closed after ${closedAfterMs} ms; attempt ${d!.durationMs} ms`)
    expect(d!.lastStatusCode).toBe(200)
    expect(d!.responseExcerpt).toHaveLength(1024)
    expect(sent).toBeLessThan(64 * 1024 * 1024)
    expect(d!.durationMs).toBeLessThan(TIMEOUT_MS)
  })

  it('disables an endpoint that answers 410', async () => {
    const p = await project()
    const gone = await receiver((_req, res) => { res.statusCode = 410; res.end() })
    const id = await hook(p, gone.url)
    await emit(p, 3)
    await waitFor(async () => { const l = await deliveries(id); return l.length === 3 && l.every((d) => d.status === 'failed') }, 10_000, 'all three to stop')
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${id}` }))).json()).toMatchObject({ enabled: false })
    // The first 410 disabled it; at most the attempts already claimed reached it.
    expect(gone.requests.length).toBeLessThanOrEqual(2)
  })

  it('keeps a healthy endpoint fast while slow ones hold at most their share of workers (100 deliveries)', async () => {
    const slowProject = await project()
    const fastProject = await project()
    let open = 0
    let maxOpen = 0
    const track = (hang: boolean) => (_req: unknown, res: ServerResponse) => {
      open++
      maxOpen = Math.max(maxOpen, open)
      res.on('close', () => { open-- })
      if (!hang) { res.statusCode = 204; res.end() }
    }
    const slowA = await receiver(track(true))
    const slowB = await receiver(track(true))
    const fast = await receiver()
    const slowIds = [await hook(slowProject, slowA.url), await hook(slowProject, slowB.url)]
    const fastId = await hook(fastProject, fast.url)
    await emit(slowProject, 30)
    // Let the slow attempts take their workers first.
    await waitFor(() => open >= 4, 5000, 'slow attempts in flight')
    const started = Date.now()
    await emit(fastProject, 40)
    await waitFor(() => fast.requests.length >= 40, 30_000, 'the healthy endpoint\'s deliveries')
    const latencies = fast.requests.map((r) => r.at - started).sort((a, b) => a - b)
    const slow = (await Promise.all(slowIds.map(deliveries))).flat()
    const slowDone = slow.filter((d) => d.status !== 'pending').length
    const { rows } = await t.app.dbPool.query('SELECT webhook_id, count(*)::int AS n FROM webhook_deliveries WHERE leased_until > now() GROUP BY webhook_id')
    console.info(`R-WEBHOOK-BAD isolation: 40 healthy deliveries in ${latencies.at(-1)} ms (p50 ${latencies[20]} ms) beside 60 to 2 hanging endpoints; ` +
      `hanging attempts in flight at most ${maxOpen} (2 endpoints x 2), ${slowDone}/60 slow deliveries finished, leases now ${JSON.stringify(rows.map((r) => r.n))}`)
    expect(maxOpen).toBeLessThanOrEqual(4)
    expect(rows.every((r) => r.n <= 2)).toBe(true)
    expect(latencies.at(-1)).toBeLessThan(8000)
    // Without the per-endpoint limit, 60 attempts of 2 s on 8 workers would hold the healthy ones back ~15 s.
    expect(slowDone).toBeLessThan(60)
    expect((await deliveries(fastId)).filter((d) => d.status === 'succeeded')).toHaveLength(40)
  })

  it('holds the per-endpoint limit across nodes', async () => {
    const second = await createTestApp({ database: t.db, env: { WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOKS_TIMEOUT_MS: String(TIMEOUT_MS), WEBHOOKS_CONCURRENCY: '8' } })
    try {
      await second.app.queue.start()
      const p = await project()
      let open = 0
      let maxOpen = 0
      const hanging = await receiver((_req, res) => { open++; maxOpen = Math.max(maxOpen, open); res.on('close', () => { open-- }) })
      await hook(p, hanging.url)
      await emit(p, 12)
      await waitFor(() => hanging.requests.length >= 4, 10_000, 'two rounds of attempts')
      console.info(`R-WEBHOOK-BAD two nodes: ${hanging.requests.length} attempts reached one hanging endpoint, at most ${maxOpen} at once`)
      expect(maxOpen).toBeLessThanOrEqual(2)
    } finally {
      await second.close()
    }
  })
})
