import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../test/helpers/auth.ts'
import { asAgent, makeTask, registerAgent, runNow } from '../../test/helpers/work.ts'
import { makeProject } from '../../test/helpers/work.ts'
import { waitFor } from '../../test/helpers/queue.ts'
import { emit, eventsOf, listen, openSocket, subscribe } from '../../test/helpers/realtime.ts'

// The operator's metrics move under a small scenario: a run queued, claimed and finished, an
// agent registered, a slot fired late, an event waiting in the outbox, a job dead-lettered,
// cached reads; and the whole page passes `promtool check metrics`.

let t: TestApp
let owner: TestUser

async function scrape (): Promise<string> {
  const res = await t.app.inject({ method: 'GET', url: '/metrics' })
  expect(res.statusCode).toBe(200)
  return res.body
}

/** value reads one sample: the line of `name` whose labels include all of `labels` (0 when absent). */
function value (text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1))
  }
  return 0
}

beforeAll(async () => {
  t = await createTestApp()
  owner = await makeUser(t.app)
})
afterAll(async () => { await t.close() })

describe('operations metrics', () => {
  it('report build info and the database pool', async () => {
    const text = await scrape()
    expect(value(text, 'backplane_build_info', { node_version: process.versions.node })).toBe(1)
    expect(text).toMatch(/^backplane_db_pool_connections\{state="idle"\} \d+$/m)
    expect(text).toMatch(/^backplane_db_pool_waiting_requests \d+$/m)
  })

  it('move with runs, agents, the scheduler, the outbox, the queue and the cache', async () => {
    const before = await scrape()
    const projectId = await makeProject(t.app, owner)
    const agent = await registerAgent(t.app, owner, { projectId })
    const task = await makeTask(t.app, owner, projectId)
    // Committed events wait in the outbox until the relay runs (tests drive it).
    await waitFor(() => scrape(), (text) => value(text, 'backplane_outbox_unpublished_events') > 0)
    await runNow(t.app, owner, task.id)
    let text = await scrape()
    expect(value(text, 'backplane_executions', { status: 'queued' })).toBe(value(before, 'backplane_executions', { status: 'queued' }) + 1)
    expect(value(text, 'backplane_agents', { status: 'offline' }) + value(text, 'backplane_agents', { status: 'online' })).toBeGreaterThan(value(before, 'backplane_agents', { status: 'offline' }) + value(before, 'backplane_agents', { status: 'online' }))
    expect(value(text, 'backplane_outbox_lag_seconds')).toBeGreaterThan(0)

    const claim = await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
    expect(claim.statusCode).toBe(200)
    expect(value(await scrape(), 'backplane_executions', { status: 'running' })).toBe(1)
    const done = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${claim.json<{ id: string }>().id}/complete`, payload: { result: { ok: true } } }))
    expect(done.statusCode).toBe(200)
    while (await t.app.events.relayOnce() > 0) { /* drain */ }
    text = await scrape()
    expect(value(text, 'backplane_outbox_unpublished_events')).toBe(0)
    expect(value(text, 'backplane_outbox_lag_seconds')).toBe(0)
    expect(value(text, 'backplane_executions_finished_total', { status: 'succeeded' })).toBe(value(before, 'backplane_executions_finished_total', { status: 'succeeded' }) + 1)

    // A slot due three seconds ago, fired by one tick: lateness of at least three seconds.
    const scheduled = await makeTask(t.app, owner, projectId, { schedule: '*/5 * * * *' })
    await t.app.dbPool.query("UPDATE tasks SET next_run_at = now() - interval '3 seconds' WHERE id = $1", [scheduled.id])
    await t.app.workLoop.tick()
    text = await scrape()
    expect(value(text, 'backplane_scheduler_lateness_seconds_count')).toBe(value(before, 'backplane_scheduler_lateness_seconds_count') + 1)
    expect(value(text, 'backplane_scheduler_lateness_seconds_bucket', { le: '2' })).toBe(value(before, 'backplane_scheduler_lateness_seconds_bucket', { le: '2' }))
    expect(value(text, 'backplane_scheduler_lateness_seconds_bucket', { le: '5' })).toBe(value(before, 'backplane_scheduler_lateness_seconds_bucket', { le: '5' }) + 1)
    // The fire job waits in its queue (workers are not started here).
    expect(value(text, 'backplane_queue_jobs', { queue: 'tasks.fire', state: 'queued' })).toBeGreaterThanOrEqual(1)
    expect(value(text, 'backplane_queue_oldest_job_age_seconds', { queue: 'tasks.fire' })).toBeGreaterThanOrEqual(0)

    // Reads of a signed-in user's session and principal go through the cache.
    for (let i = 0; i < 3; i++) expect((await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
    text = await scrape()
    expect(value(text, 'backplane_cache_requests_total', { result: 'hit' })).toBeGreaterThan(value(before, 'backplane_cache_requests_total', { result: 'hit' }))
  })

  it('count a dead letter on its queue', async () => {
    const name = `metrics-dead-${Date.now()}`
    t.app.queue.define(name, async () => { throw new Error('always fails') }, { retryLimit: 0 })
    await t.app.queue.start()
    await t.app.queue.send(name, { n: 1 })
    await waitFor(() => scrape(), (text) => value(text, 'backplane_queue_dead_letters', { queue: name }) === 1)
  })

  it('count realtime sockets and the messages written to them', async () => {
    const url = await listen(t.app)
    const before = await scrape()
    const socket = await openSocket(url, { token: owner.accessToken })
    await socket.next((m) => m.type === 'ready')
    await subscribe(socket, `user:${owner.id}`)
    await emit(t.app, { type: 'test.metrics', channels: [`user:${owner.id}`] })
    await socket.next(() => eventsOf(socket).length === 1)
    const text = await scrape()
    expect(value(text, 'realtime_sockets')).toBe(value(before, 'realtime_sockets') + 1)
    // ready, subscribed, the event: at least three messages written.
    expect(value(text, 'backplane_realtime_messages_sent_total')).toBeGreaterThanOrEqual(value(before, 'backplane_realtime_messages_sent_total') + 3)
    socket.ws.close()
    await socket.closed
  })

  it('pass promtool check metrics', async () => {
    const text = await scrape()
    // promtool prints lint problems and exits non-zero; the names added here must not be among them.
    let problems = ''
    try {
      execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    } catch (err) {
      problems = String((err as { stdout?: string }).stdout ?? '') + String((err as { stderr?: string }).stderr ?? '')
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('promtool is missing: apt-get install prometheus (.ci/run does)')
    }
    expect(problems.split('\n').filter((l) => l.includes('backplane_'))).toEqual([])
  })
})
