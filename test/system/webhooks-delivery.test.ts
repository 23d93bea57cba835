import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { makeProject } from '../helpers/work.ts'
import { startReceiver, verifyStandardWebhook, waitFor, type Receiver } from './webhooks-receiver.ts'

// WH-01 and WH-02 against a real receiver on 127.0.0.1 that verifies every delivery with its own
// implementation of the Standard Webhooks algorithm. Loopback receivers need WEBHOOKS_ALLOW_PRIVATE;
// the retry schedule is shortened (the production figures are checked in target.test.ts).

let t: TestApp
let owner: TestUser
const secrets: string[] = []
const receivers: Receiver[] = []

interface Delivery { id: string, eventId: string, status: string, attempts: number, lastStatusCode: number | null, lastError: string | null, nextAttemptAt: string | null, lastAttemptAt: string | null, durationMs: number | null, redeliveredAt: string | null }

async function receiver (...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args)
  receivers.push(r)
  return r
}

async function hook (projectId: string, url: string, eventTypes: string[] = ['*']) {
  const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/webhooks`, payload: { url, eventTypes } }))
  if (res.statusCode !== 201) throw new Error(`webhook create failed: ${res.statusCode} ${res.body}`)
  const created = res.json() as { id: string, secret: string }
  secrets.push(created.secret)
  return created
}

async function emit (projectId: string, type = 'task.created', data: Record<string, unknown> = { taskId: 't-1' }): Promise<string> {
  const aggregate = `task:${randomUUID()}`
  await t.app.db.transaction((tx) => t.app.events.record({ type, aggregate, channels: [`project:${projectId}`], data }, tx))
  await t.app.events.relayOnce()
  const { rows } = await t.app.dbPool.query('SELECT id FROM outbox WHERE aggregate = $1', [aggregate])
  return rows[0].id as string
}

/** project makes a project and publishes its own events (project.created …) before any endpoint exists. */
async function project (): Promise<string> {
  const id = await makeProject(t.app, owner)
  await t.app.events.relayOnce()
  return id
}

async function deliveries (hookId: string): Promise<Delivery[]> {
  const res = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${hookId}/deliveries?limit=100` }))
  return (res.json() as { items: Delivery[] }).items
}

const settled = (hookId: string, count = 1) => waitFor(async () => {
  const list = await deliveries(hookId)
  return list.length >= count && list.every((d) => d.status !== 'pending') ? list : undefined
}, 15_000, `deliveries of ${hookId} to finish`)

beforeAll(async () => {
  t = await createTestApp({ env: { WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOKS_RETRY_SCHEDULE: '200ms,400ms,800ms', WEBHOOKS_TIMEOUT_MS: '3000' } })
  owner = await makeUser(t.app)
  await t.app.queue.start()
})
afterAll(async () => {
  await t.close()
  await Promise.all(receivers.map((r) => r.close()))
})

describe('deliveries (WH-01)', () => {
  it('delivers an event to every subscribed endpoint of its project, signed as Standard Webhooks', async () => {
    const projectId = await project()
    const otherProject = await project()
    const all = await receiver()
    const exact = await receiver()
    const unsubscribed = await receiver()
    const foreign = await receiver()
    const a = await hook(projectId, `${all.url}/all?x=1`, ['*'])
    const b = await hook(projectId, `${exact.url}/exact`, ['task.created', 'task.deleted'])
    await hook(projectId, `${unsubscribed.url}/`, ['execution.completed'])
    await hook(otherProject, `${foreign.url}/`, ['*'])
    const eventId = await emit(projectId, 'task.created', { taskId: 'abc', name: 'Nightly' })
    await settled(a.id)
    await settled(b.id)

    for (const [r, secret, path] of [[all, a.secret, '/all?x=1'], [exact, b.secret, '/exact']] as const) {
      expect(r.requests).toHaveLength(1)
      const got = r.requests[0]!
      expect(got.method).toBe('POST')
      expect(got.path).toBe(path)
      expect(got.headers['content-type']).toBe('application/json')
      expect(got.headers['user-agent']).toBe('Backplane-Webhooks/1')
      expect(got.headers['webhook-id']).toBe(eventId)
      expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30)
      expect(verifyStandardWebhook(secret, got.headers, got.body)).toBeNull()
      // Another endpoint's secret does not verify it, nor does a changed body.
      expect(verifyStandardWebhook(secret === a.secret ? b.secret : a.secret, got.headers, got.body)).toBe('no signature matches')
      expect(verifyStandardWebhook(secret, got.headers, got.body.replace('Nightly', 'Daily'))).toBe('no signature matches')
      const body = JSON.parse(got.body)
      expect(body).toEqual({ id: eventId, type: 'task.created', timestamp: expect.any(String), aggregate: expect.stringMatching(/^task:/), sequence: expect.any(Number), data: { taskId: 'abc', name: 'Nightly' } })
      expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false)
    }
    expect(unsubscribed.requests).toHaveLength(0)
    expect(foreign.requests).toHaveLength(0)
    const [d] = await deliveries(a.id)
    expect(d).toMatchObject({ eventId, status: 'succeeded', attempts: 1, lastStatusCode: 204, lastError: null, nextAttemptAt: null })
    expect(d!.durationMs).toBeGreaterThanOrEqual(0)
    // A republished event (the relay ran its handlers twice) makes no second delivery.
    const { rows } = await t.app.dbPool.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE event_id = $1', [eventId])
    expect(rows[0].n).toBe(2)
  })

  // Deliveries are independent jobs (retries, two in flight per endpoint): an execution.completed can
  // arrive before its execution.started. Each body names its aggregate and a sequence number that
  // grows with every event of that aggregate, so a receiver orders them (README, Webhooks).
  // The receiver refuses execution.started until it has accepted execution.completed, so the
  // accepted order is reversed whichever job runs first. (It used to refuse only the first request,
  // assumed to be execution.started: on RabbitMQ the two jobs run on concurrent consumers and
  // execution.completed was often the first to arrive, so that request was the one dropped.)
  it('numbers the events of one aggregate so a receiver can order execution.started before execution.completed', async () => {
    const projectId = await project()
    const accepted: Array<{ type: string, aggregate: string, sequence: number }> = []
    const r = await receiver((_req, res, got) => {
      const body = JSON.parse(got.body) as { type: string, aggregate: string, sequence: number }
      const early = body.type === 'execution.started' && !accepted.some((b) => b.type === 'execution.completed')
      if (!early) accepted.push(body)
      res.statusCode = early ? 500 : 204
      res.end()
    })
    const h = await hook(projectId, `${r.url}/ordered`, ['execution.started', 'execution.completed'])
    const aggregate = `execution:${randomUUID()}`
    for (const type of ['execution.started', 'execution.completed']) {
      await t.app.db.transaction((tx) => t.app.events.record({ type, aggregate, channels: [`project:${projectId}`], data: { executionId: aggregate.slice(10) } }, tx))
    }
    await t.app.events.relayOnce()
    const done = await settled(h.id, 2)
    expect(done.map((d) => d.status)).toEqual(['succeeded', 'succeeded'])
    // Arrival order was completed, then started ...
    expect(accepted.map((b) => b.type)).toEqual(['execution.completed', 'execution.started'])
    for (const b of accepted) expect(b).toMatchObject({ aggregate, sequence: expect.any(Number) })
    // ... the sequence says otherwise, and the receiver's rule (apply only what is newer than the
    // last sequence applied for the aggregate) ends on the right state.
    const started = accepted.find((b) => b.type === 'execution.started')!
    const completed = accepted.find((b) => b.type === 'execution.completed')!
    expect(started.sequence).toBeLessThan(completed.sequence)
    const last = new Map<string, { sequence: number, type: string }>()
    for (const b of accepted) if ((last.get(b.aggregate)?.sequence ?? -1) < b.sequence) last.set(b.aggregate, b)
    expect(last.get(aggregate)?.type).toBe('execution.completed')
    expect([...accepted].sort((x, y) => x.sequence - y.sequence).map((b) => b.type)).toEqual(['execution.started', 'execution.completed'])
  })

  it('keeps webhook-id across retries, re-signs each attempt, and backs off along the schedule', async () => {
    const projectId = await project()
    let calls = 0
    const flaky = await receiver((_req, res) => { calls++; res.statusCode = calls <= 2 ? 503 : 200; res.end(calls <= 2 ? 'busy' : 'ok') })
    const h = await hook(projectId, flaky.url)
    const eventId = await emit(projectId)
    const [d] = await settled(h.id)
    expect(d).toMatchObject({ status: 'succeeded', attempts: 3, lastStatusCode: 200 })
    expect(flaky.requests.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId, eventId])
    for (const r of flaky.requests) expect(verifyStandardWebhook(h.secret, r.headers, r.body)).toBeNull()
    const gaps = flaky.requests.slice(1).map((r, i) => r.at - flaky.requests[i]!.at)
    console.info(`retry gaps (ms) for steps 200, 400: ${gaps.join(', ')}`)
    // Each wait is at least half its step (jitter) and grows along the schedule.
    expect(gaps[0]).toBeGreaterThanOrEqual(90)
    expect(gaps[1]).toBeGreaterThanOrEqual(190)
  })

  it('gives up after the last attempt and counts the failures on the endpoint', async () => {
    const projectId = await project()
    const broken = await receiver((_req, res) => { res.statusCode = 500; res.end('{"error":"boom"}') })
    const h = await hook(projectId, broken.url)
    await emit(projectId)
    const [d] = await settled(h.id)
    expect(d).toMatchObject({ status: 'gave_up', attempts: 4, lastStatusCode: 500, lastError: 'the endpoint answered 500', nextAttemptAt: null })
    expect(broken.requests).toHaveLength(4)
    const endpoint = (await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${h.id}` }))).json()
    expect(endpoint).toMatchObject({ enabled: true, consecutiveFailures: 4 })
    expect((await deliveries(h.id))[0]).toHaveProperty('lastAttemptAt')
  })

  it('disables the endpoint on 410 Gone and delivers nothing more to it (WH-02)', async () => {
    const projectId = await project()
    const gone = await receiver((_req, res) => { res.statusCode = 410; res.end() })
    const h = await hook(projectId, gone.url)
    await emit(projectId)
    const [d] = await settled(h.id)
    expect(d).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 })
    const endpoint = (await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${h.id}` }))).json()
    expect(endpoint.enabled).toBe(false)
    expect(endpoint.disabledReason).toMatch(/410 Gone/)
    await emit(projectId)
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(gone.requests).toHaveLength(1)
    expect(await deliveries(h.id)).toHaveLength(1)
  })

  it('honours Retry-After when it asks for longer than the schedule', async () => {
    const projectId = await project()
    const limited = await receiver((_req, res) => { res.statusCode = 429; res.setHeader('retry-after', '120'); res.end() })
    const h = await hook(projectId, limited.url)
    await emit(projectId)
    const d = await waitFor(async () => (await deliveries(h.id)).find((x) => x.attempts === 1 && x.lastStatusCode === 429), 10_000, 'a 429')
    expect(d.status).toBe('pending')
    const wait = Date.parse(d.nextAttemptAt!) - Date.parse(d.lastAttemptAt!)
    expect(wait).toBeGreaterThanOrEqual(119_000)
    expect(wait).toBeLessThan(125_000)
  })

  it('signs with the old and the new secret during a rotation, with the new one only afterwards', async () => {
    const projectId = await project()
    const r = await receiver()
    const h = await hook(projectId, r.url)
    const rotated = (await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/webhooks/${h.id}/rotate-secret` }))).json() as { secret: string }
    secrets.push(rotated.secret)
    await emit(projectId)
    await settled(h.id)
    const first = r.requests[0]!
    const entries = String(first.headers['webhook-signature']).split(' ')
    expect(entries).toHaveLength(2)
    expect(verifyStandardWebhook(rotated.secret, first.headers, first.body)).toBeNull()
    expect(verifyStandardWebhook(h.secret, first.headers, first.body)).toBeNull()
    // Each entry alone verifies with exactly one of the secrets, the new one first.
    expect(verifyStandardWebhook(rotated.secret, { ...first.headers, 'webhook-signature': entries[0] }, first.body)).toBeNull()
    expect(verifyStandardWebhook(h.secret, { ...first.headers, 'webhook-signature': entries[1] }, first.body)).toBeNull()

    await t.app.dbPool.query("UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1", [h.id])
    await emit(projectId)
    await settled(h.id, 2)
    const second = r.requests[1]!
    expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(1)
    expect(verifyStandardWebhook(rotated.secret, second.headers, second.body)).toBeNull()
    expect(verifyStandardWebhook(h.secret, second.headers, second.body)).toBe('no signature matches')
  })

  it('redelivers one delivery with fresh attempts and the same webhook-id', async () => {
    const projectId = await project()
    const r = await receiver()
    const h = await hook(projectId, r.url)
    const eventId = await emit(projectId)
    const [d] = await settled(h.id)
    const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/webhooks/${h.id}/deliveries/${d!.id}/redeliver` }))
    expect(res.statusCode).toBe(202)
    expect(res.json()).toMatchObject({ id: d!.id, status: 'pending', attempts: 0 })
    await waitFor(() => r.requests.length === 2, 10_000, 'the redelivery')
    expect(r.requests.map((x) => x.headers['webhook-id'])).toEqual([eventId, eventId])
    expect(verifyStandardWebhook(h.secret, r.requests[1]!.headers, r.requests[1]!.body)).toBeNull()
    const [after] = await settled(h.id)
    expect(after).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect(after!.redeliveredAt).not.toBeNull()
    const missing = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/webhooks/${h.id}/deliveries/01900000-0000-7000-8000-000000000000/redeliver` }))
    expect(missing.json().code).toBe('WEBHOOK_DELIVERY_NOT_FOUND')
  })

  it('sends a webhook.test event to one endpoint on request', async () => {
    const projectId = await project()
    const r = await receiver()
    const h = await hook(projectId, r.url, ['execution.completed'])
    const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/webhooks/${h.id}/test` }))
    expect(res.statusCode).toBe(202)
    await waitFor(() => r.requests.length === 1, 10_000, 'the test event')
    const body = JSON.parse(r.requests[0]!.body)
    expect(body).toMatchObject({ type: 'webhook.test', data: { webhookId: h.id, projectId } })
    expect(r.requests[0]!.headers['webhook-id']).toBe(body.id)
    expect(verifyStandardWebhook(h.secret, r.requests[0]!.headers, r.requests[0]!.body)).toBeNull()
  })

  it('never logged a secret (LG-02)', () => {
    const logs = t.logs.text()
    expect(secrets.length).toBeGreaterThan(5)
    for (const s of secrets) expect(logs).not.toContain(s.slice(6))
    expect(logs).toContain('webhook attempt failed')
  })
})
