import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { addMember, asAgent, makeProject, makeTask, registerAgent, runNow, type TestAgent } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser
let viewer: TestUser
let projectId: string
let agent: TestAgent

interface Exec { id: string, status: string, attempt: number, agentId: string | null, availableAt: string, retryOf: string | null, logs: string, result: unknown, error: string | null, payload: unknown, progress: number | null }

const claim = async (a: TestAgent, wait = 0) => t.app.inject(asAgent(a, { method: 'POST', url: `/api/v1/agents/me/claim?wait=${wait}` }))
const get = async (user: TestUser, id: string) => (await t.app.inject(as(user, { method: 'GET', url: `/api/v1/executions/${id}` }))).json() as Exec

beforeAll(async () => {
  t = await createTestApp({ env: { EXECUTION_LEASE_SECONDS: '30' } })
  ;[owner, viewer] = await Promise.all([makeUser(t.app), makeUser(t.app)])
  projectId = await makeProject(t.app, owner)
  await addMember(t.app, owner, projectId, viewer, 'viewer')
  agent = await registerAgent(t.app, owner, { projectId, labels: ['linux'] })
})
afterAll(async () => { await t.close() })

describe('a run from start to end', () => {
  it('is queued by run-now, claimed by an agent, reported on and completed', async () => {
    const task = await makeTask(t.app, owner, projectId, { payload: { echo: 42 } })
    const id = await runNow(t.app, owner, task.id)
    expect(await get(owner, id)).toMatchObject({ status: 'queued', attempt: 1, agentId: null, payload: { echo: 42 } })

    const claimed = await claim(agent)
    expect(claimed.statusCode).toBe(200)
    expect(claimed.json()).toMatchObject({ id, status: 'running', agentId: agent.id, payload: { echo: 42 } })
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/agents/me' }))).json()).toMatchObject({ status: 'busy' })
    expect((await claim(agent)).statusCode).toBe(204)

    const progress = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/progress`, payload: { progress: 50, log: 'half way\n' } }))
    expect(progress.json()).toMatchObject({ progress: 50, logs: 'half way\n' })
    const done = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: { result: { ok: true }, log: 'done\n' } }))
    expect(done.statusCode).toBe(200)
    expect(await get(viewer, id)).toMatchObject({ status: 'succeeded', result: { ok: true }, logs: 'half way\ndone\n' })
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/agents/me' }))).json()).toMatchObject({ status: 'online' })
    // Ended runs take no more reports.
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: {} }))).statusCode).toBe(409)
    // A bare POST (no body) completes a run too.
    const bare = await runNow(t.app, owner, task.id)
    expect((await claim(agent)).statusCode).toBe(200)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${bare}/complete` }))).statusCode).toBe(200)
    expect(await get(owner, bare)).toMatchObject({ status: 'succeeded', result: null })

    const metrics = await t.app.inject(as(viewer, { method: 'GET', url: `/api/v1/agents/${agent.id}/metrics` }))
    expect(metrics.json()).toMatchObject({ runs: 2, succeeded: 2, successRate: 1, running: 0 })
    expect((metrics.json() as { p50DurationMs: number }).p50DurationMs).toBeGreaterThanOrEqual(0)
  })

  it('retries a failed run by the task\'s policy, with doubling back-off, then stops', async () => {
    const task = await makeTask(t.app, owner, projectId, { retry: { maxAttempts: 2, backoffSeconds: 60 } })
    const id = await runNow(t.app, owner, task.id)
    expect((await claim(agent)).json()).toMatchObject({ id })
    const failed = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/fail`, payload: { error: 'disk full' } }))
    expect(failed.json()).toMatchObject({ status: 'failed', error: 'disk full' })
    const list = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/executions?taskId=${task.id}` }))
    const items = (list.json() as { items: Exec[] }).items
    expect(items.map((e) => [e.attempt, e.status])).toEqual([[2, 'queued'], [1, 'failed']])
    const retry = items[0]!
    expect(retry.retryOf).toBe(id)
    expect(Date.parse(retry.availableAt) - Date.now()).toBeGreaterThan(50_000)
    // Not claimable before its back-off ends.
    expect((await claim(agent)).statusCode).toBe(204)
  })

  it('hands agents only the runs meant for them: own project, targeted agent, all labels', async () => {
    const otherOwner = await makeUser(t.app)
    const otherProject = await makeProject(t.app, otherOwner)
    const otherAgent = await registerAgent(t.app, otherOwner, { projectId: otherProject, labels: ['linux', 'gpu'] })
    const gpuAgent = await registerAgent(t.app, owner, { projectId, labels: ['linux', 'gpu'] })
    const gpuTask = await makeTask(t.app, owner, projectId, { target: { labels: ['gpu'] } })
    const pinned = await makeTask(t.app, owner, projectId, { target: { agentId: agent.id } })
    const gpuRun = await runNow(t.app, owner, gpuTask.id)
    const pinnedRun = await runNow(t.app, owner, pinned.id)
    expect((await claim(otherAgent)).statusCode).toBe(204)
    expect((await claim(gpuAgent)).json()).toMatchObject({ id: gpuRun })
    expect((await claim(gpuAgent)).statusCode).toBe(204)
    expect((await claim(agent)).json()).toMatchObject({ id: pinnedRun })
    for (const a of [agent, gpuAgent]) {
      const running = ((await t.app.inject(asAgent(a, { method: 'GET', url: '/api/v1/executions?status=running' }))).json() as { items: Exec[] }).items
      for (const e of running) await t.app.inject(asAgent(a, { method: 'POST', url: `/api/v1/executions/${e.id}/complete`, payload: {} }))
    }
  })

  it('never gives one run to two agents claiming at once', async () => {
    const agents = await Promise.all(Array.from({ length: 5 }, () => registerAgent(t.app, owner, { projectId, labels: ['linux'] })))
    const task = await makeTask(t.app, owner, projectId, {})
    const runs = await Promise.all(Array.from({ length: 3 }, () => runNow(t.app, owner, task.id)))
    const claims = await Promise.all(agents.map(async (a) => claim(a)))
    const got = claims.filter((c) => c.statusCode === 200).map((c) => (c.json() as Exec).id)
    expect(got.sort()).toEqual([...runs].sort())
    await Promise.all(claims.map(async (c, i) => c.statusCode === 200 && t.app.inject(asAgent(agents[i]!, { method: 'POST', url: `/api/v1/executions/${(c.json() as Exec).id}/complete`, payload: {} }))))
  })
})

describe('concurrent reports', () => {
  it('never deadlocks a claim against the same agent\'s heartbeat', async () => {
    // The claim locks the run (whose agent_id points at the agent) and then the agent row; the
    // heartbeat locks the agent row. Row locks that conflicted with the foreign key's lock made
    // PostgreSQL abort one of them (a 500) — found by the shell agent, which beats while it claims.
    const a = await registerAgent(t.app, owner, { projectId, labels: ['race'] })
    const task = await makeTask(t.app, owner, projectId, { target: { agentId: a.id } })
    const beat = async () => t.app.inject(asAgent(a, { method: 'POST', url: '/api/v1/agents/me/heartbeat', payload: {} }))
    for (let i = 0; i < 30; i++) {
      const id = await runNow(t.app, owner, task.id)
      const [claimed, ...beats] = await Promise.all([claim(a), beat(), beat(), beat(), beat()])
      for (const b of beats) expect(b.statusCode, b.body).toBe(200)
      expect(claimed.statusCode, claimed.body).toBe(200)
      await t.app.inject(asAgent(a, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: {} }))
    }
  })
})

describe('long-polling claims', () => {
  it('waits for work and answers as soon as a run is queued', async () => {
    const lonely = await registerAgent(t.app, owner, { projectId, labels: ['rare'] })
    const task = await makeTask(t.app, owner, projectId, { target: { labels: ['rare'] } })
    const started = Date.now()
    const waiting = claim(lonely, 10)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const id = await runNow(t.app, owner, task.id)
    const res = await waiting
    expect(res.json()).toMatchObject({ id })
    expect(Date.now() - started).toBeLessThan(8000)
    await t.app.inject(asAgent(lonely, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: {} }))
  })

  it('answers 204 when nothing comes within the wait', async () => {
    const idle = await registerAgent(t.app, owner, { projectId, labels: ['never'] })
    const started = Date.now()
    expect((await claim(idle, 1)).statusCode).toBe(204)
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
    expect((await claim(idle, 31)).statusCode).toBe(400)
    // curl -X POST -H 'content-type: application/json' with no body is no body, not an error.
    const bare = await t.app.inject(asAgent(idle, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0', headers: { 'content-type': 'application/json' } }))
    expect(bare.statusCode).toBe(204)
  })
})

describe('cancelling', () => {
  it('cancels a queued run at once and tells the agent of a running one on its next report', async () => {
    const task = await makeTask(t.app, owner, projectId, {})
    const queued = await runNow(t.app, owner, task.id)
    const cancel = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/executions/${queued}/cancel` }))
    expect(cancel.json()).toMatchObject({ status: 'cancelled' })
    expect((await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/executions/${queued}/cancel` }))).statusCode).toBe(409)

    const running = await runNow(t.app, owner, task.id)
    expect((await claim(agent)).json()).toMatchObject({ id: running })
    expect((await t.app.inject(as(viewer, { method: 'POST', url: `/api/v1/executions/${running}/cancel` }))).statusCode).toBe(403)
    expect((await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/executions/${running}/cancel` }))).json()).toMatchObject({ status: 'cancelled' })
    const report = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${running}/progress`, payload: { progress: 10 } }))
    expect(report.statusCode).toBe(409)
    expect(report.json()).toMatchObject({ code: 'EXECUTION_NOT_RUNNING' })
  })
})

describe('leases', () => {
  it('times out a run whose agent went silent, and retries it', async () => {
    const task = await makeTask(t.app, owner, projectId, { retry: { maxAttempts: 2, backoffSeconds: 1 } })
    const id = await runNow(t.app, owner, task.id)
    expect((await claim(agent)).json()).toMatchObject({ id })
    // A heartbeat extends the lease: 20 s later the run is still fine.
    await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/heartbeat', payload: {} }))
    expect((await t.app.executions.sweep(new Date(Date.now() + 20_000))).timedOut).toBe(0)
    // 31 s of silence passes the 30 s lease.
    expect((await t.app.executions.sweep(new Date(Date.now() + 31_000))).timedOut).toBe(1)
    expect(await get(owner, id)).toMatchObject({ status: 'timed_out', error: expect.stringMatching(/lease expired/) })
    const retries = ((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/executions?taskId=${task.id}&status=queued` }))).json() as { items: Exec[] }).items
    expect(retries).toMatchObject([{ attempt: 2, retryOf: id }])
    // The silent agent's late report is refused.
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: {} }))).statusCode).toBe(409)
  })
})
