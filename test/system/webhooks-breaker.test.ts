import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { makeProject } from '../helpers/work.ts'
import { startReceiver, waitFor, type Receiver } from './webhooks-receiver.ts'

// Issue #12: a circuit breaker around each webhook endpoint. A real receiver on 127.0.0.1 answers
// 503 for a while, then recovers; another endpoint of the same project stays healthy. The retry
// schedule (5 × 100 ms) is far shorter than the outage: without the breaker every delivery to the
// failing receiver would give up within a second.

const THRESHOLD = 3
const COOLDOWN_MS = 1000
const OUTAGE_MS = 3500
let t: TestApp
let owner: TestUser
const receivers: Receiver[] = []

interface Delivery { id: string, status: string, attempts: number, lastStatusCode: number | null }

async function hook (projectId: string, url: string): Promise<string> {
  const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/webhooks`, payload: { url, eventTypes: ['task.created'] } }))
  if (res.statusCode !== 201) throw new Error(`webhook create failed: ${res.statusCode} ${res.body}`)
  return res.json().id as string
}

async function deliveries (hookId: string): Promise<Delivery[]> {
  const res = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${hookId}/deliveries?limit=100` }))
  return (res.json() as { items: Delivery[] }).items
}

const breakerGauge = async (state: string): Promise<number> => {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
  return Number(new RegExp(`^backplane_webhook_endpoint_breakers\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN)
}

beforeAll(async () => {
  t = await createTestApp({
    env: {
      WEBHOOKS_ALLOW_PRIVATE: 'true',
      WEBHOOKS_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms',
      WEBHOOKS_TIMEOUT_MS: '2000',
      WEBHOOKS_BREAKER_THRESHOLD: String(THRESHOLD),
      WEBHOOKS_BREAKER_COOLDOWN: `${COOLDOWN_MS}ms`
    }
  })
  owner = await makeUser(t.app)
  await t.app.queue.start()
})
afterAll(async () => {
  await t.close()
  await Promise.all(receivers.map((r) => r.close()))
})

it('opens a failing endpoint\'s breaker: its deliveries are deferred without spending attempts while another endpoint flows, and all arrive once it recovers', { timeout: 60_000 }, async () => {
  const projectId = await makeProject(t.app, owner)
  await t.app.events.relayOnce()
  let failing = true
  const flaky = await startReceiver((_req, res) => { res.statusCode = failing ? 503 : 204; res.end() })
  const healthy = await startReceiver()
  receivers.push(flaky, healthy)
  const flakyId = await hook(projectId, `${flaky.url}/flaky`)
  const healthyId = await hook(projectId, `${healthy.url}/healthy`)

  const events = 6
  await t.app.db.transaction(async (tx) => {
    for (let i = 0; i < events; i++) await t.app.events.record({ type: 'task.created', aggregate: `task:${randomUUID()}`, channels: [`project:${projectId}`], data: { n: i } }, tx)
  })
  await t.app.events.relayOnce()
  const startedAt = Date.now()

  // The healthy endpoint gets everything at once; the failing one only until its breaker opens.
  await waitFor(async () => (await deliveries(healthyId)).filter((d) => d.status === 'succeeded').length === events, 15_000, 'the healthy endpoint\'s deliveries')
  await waitFor(async () => (await breakerGauge('open')) === 1, 10_000, 'the breaker to open')
  const atOpen = flaky.requests.length
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - startedAt))))
  const during = await deliveries(flakyId)
  const sentDuringOutage = flaky.requests.length
  failing = false
  const recoveredAt = Date.now()

  // While open nothing gave up, and only attempts actually sent were counted: the outage outlasted
  // the retry schedule (6 attempts ~100 ms apart) yet every delivery is still pending.
  expect(during).toHaveLength(events)
  expect(during.every((d) => d.status === 'pending')).toBe(true)
  expect(during.reduce((sum, d) => sum + d.attempts, 0)).toBe(sentDuringOutage)
  expect(during.every((d) => d.attempts < 6)).toBe(true)
  // The breaker opened after THRESHOLD failures in a row (two may already be in flight), and in the
  // outage's remaining ~3 s only probes went out: after 1 s, then 2 s later.
  expect(atOpen).toBeGreaterThanOrEqual(THRESHOLD)
  expect(atOpen).toBeLessThanOrEqual(THRESHOLD + 1)
  expect(sentDuringOutage - atOpen).toBeLessThanOrEqual(2)

  // Recovery: the next probe succeeds, the breaker closes and the deferred deliveries go.
  const done = await waitFor(async () => {
    const list = await deliveries(flakyId)
    return list.every((d) => d.status === 'succeeded') ? list : undefined
  }, 20_000, 'the deferred deliveries')
  const recoveryMs = Date.now() - recoveredAt
  expect(done.reduce((sum, d) => sum + d.attempts, 0)).toBe(flaky.requests.length)
  expect(flaky.requests.filter((r) => r.at >= recoveredAt).length).toBe(events)
  expect(await breakerGauge('open')).toBe(0)
  expect(await breakerGauge('closed')).toBe(2)
  const transitions = t.logs.lines().filter((l) => l.webhookId === flakyId && typeof l.breaker === 'string').map((l) => l.breaker)
  expect(transitions[0]).toBe('open')
  expect(transitions.at(-1)).toBe('closed')
  expect(transitions.length).toBeLessThanOrEqual(8)
  expect(t.logs.lines().some((l) => l.webhookId === healthyId && typeof l.breaker === 'string')).toBe(false)
  // A receiver's outage is its own: readiness does not report it.
  expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json()).not.toHaveProperty('breakers')
  console.log(`webhook breaker: ${atOpen} attempts before it opened, ${sentDuringOutage} sent in a ${OUTAGE_MS} ms outage (${events} deliveries, up to ${events * 6} attempts without the breaker), all ${events} delivered ${recoveryMs} ms after the receiver recovered; transitions ${transitions.join(' → ')}`)
})
