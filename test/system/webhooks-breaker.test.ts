import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { makeProject } from '../helpers/work.ts'
import { startReceiver, waitFor, type Receiver } from './webhooks-receiver.ts'

// A breaker per webhook endpoint, against real loopback receivers: after THRESHOLD failed attempts
// in a row the endpoint's deliveries wait (pending, attempts not spent) instead of burning their
// retry schedule; a half-open probe that succeeds lets them all through; other endpoints flow on.

const THRESHOLD = 3
const HALF_OPEN_MS = 1500
const EVENTS = 6
let t: TestApp
let owner: TestUser
const receivers: Receiver[] = []

interface Delivery { id: string, status: string, attempts: number }

async function hook (projectId: string, url: string): Promise<string> {
  const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/webhooks`, payload: { url, eventTypes: ['*'] } }))
  if (res.statusCode !== 201) throw new Error(`webhook create failed: ${res.statusCode} ${res.body}`)
  return res.json().id as string
}

async function deliveries (hookId: string): Promise<Delivery[]> {
  const res = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${hookId}/deliveries?limit=100` }))
  return (res.json() as { items: Delivery[] }).items
}

async function gauge (): Promise<string> {
  return (await t.app.metrics.getSingleMetricAsString('backplane_breaker_state'))
}

beforeAll(async () => {
  t = await createTestApp({
    env: {
      WEBHOOKS_ALLOW_PRIVATE: 'true',
      WEBHOOKS_TIMEOUT_MS: '2000',
      // Seven quick attempts: without a breaker every delivery would give up within about a second.
      WEBHOOKS_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms,100ms',
      WEBHOOKS_CONCURRENCY: '8',
      WEBHOOKS_PER_ENDPOINT_CONCURRENCY: '2',
      WEBHOOKS_BREAKER_THRESHOLD: String(THRESHOLD),
      WEBHOOKS_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS)
    }
  })
  owner = await makeUser(t.app)
  await t.app.queue.start()
})
afterAll(async () => {
  await t.close()
  await Promise.all(receivers.map((r) => r.close()))
})

describe('webhook endpoint circuit breaker', () => {
  it('defers a failing endpoint\'s deliveries without spending attempts, keeps others flowing, and delivers all after a successful probe', async () => {
    const projectId = await makeProject(t.app, owner)
    await t.app.events.relayOnce()
    let up = false
    const flaky = await startReceiver((_req, res) => { res.statusCode = up ? 204 : 503; res.end() })
    const healthy = await startReceiver()
    receivers.push(flaky, healthy)
    const flakyId = await hook(projectId, flaky.url)
    const healthyId = await hook(projectId, healthy.url)

    await t.app.db.transaction(async (tx) => {
      for (let i = 0; i < EVENTS; i++) await t.app.events.record({ type: 'task.created', aggregate: `task:${randomUUID()}`, channels: [`project:${projectId}`], data: { n: i } }, tx)
    })
    while (await t.app.events.relayOnce() > 0) { /* publish every batch */ }

    // The healthy endpoint gets every event while its neighbour fails.
    await waitFor(async () => (await deliveries(healthyId)).filter((d) => d.status === 'succeeded').length === EVENTS, 15_000, 'the healthy endpoint\'s deliveries')
    await waitFor(async () => /dependency="webhook:[^"]+"} 2/.test(await gauge()), 15_000, 'the flaky endpoint\'s breaker to open')
    expect(await gauge()).toContain(`backplane_breaker_state{dependency="webhook:${flakyId}"} 2`)
    expect(await gauge()).toContain(`backplane_breaker_state{dependency="webhook:${healthyId}"} 0`)

    // Open for a while (longer than the whole retry schedule): nothing given up, only probes sent.
    await new Promise((resolve) => setTimeout(resolve, 2 * HALF_OPEN_MS))
    const waiting = await deliveries(flakyId)
    expect(waiting).toHaveLength(EVENTS)
    expect(waiting.every((d) => d.status === 'pending')).toBe(true)
    const spent = waiting.reduce((sum, d) => sum + d.attempts, 0)
    // Every counted attempt is a request the receiver got: deferrals spend nothing.
    expect(spent).toBe(flaky.requests.length)
    // The opening failures (a couple may have been in flight together) plus about one probe per half-open period.
    expect(flaky.requests.length).toBeLessThanOrEqual(THRESHOLD + 2 + 3)
    // One customer's endpoint is not this node's health.
    const ready = (await t.app.inject({ method: 'GET', url: '/health/ready' })).json()
    expect(ready.breakers?.[`webhook:${flakyId}`]).toBeUndefined()

    // The receiver recovers: the next probe succeeds, the breaker closes, and the backlog is delivered.
    up = true
    await waitFor(async () => (await deliveries(flakyId)).filter((d) => d.status === 'succeeded').length === EVENTS, 20_000, 'the deferred deliveries')
    expect(await gauge()).toContain(`backplane_breaker_state{dependency="webhook:${flakyId}"} 0`)
    const ids = new Set(flaky.requests.filter((r) => r.at > 0).map((r) => r.headers['webhook-id']))
    expect(ids.size).toBe(EVENTS)

    // Deleting the endpoint drops its breaker and its gauge series.
    const del = await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/webhooks/${flakyId}` }))
    expect(del.statusCode).toBe(204)
    expect(await gauge()).not.toContain(`webhook:${flakyId}`)
  }, 60_000)
})
