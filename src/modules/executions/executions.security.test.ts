import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, type TestUser } from '../../../test/helpers/auth.ts'
import { MAX_QUEUED_PER_TASK } from './service.ts'
import { asAgent, makeProject, makeProjectRoles, makeTask, registerAgent, runNow, type TestAgent } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser, editor: TestUser, viewer: TestUser, stranger: TestUser, admin: TestUser, projectId: string
let taskId: string
let agent: TestAgent
let strangerAgent: TestAgent

const MISSING = '0190e7a4-0000-7000-8000-000000000000'

beforeAll(async () => {
  t = await createTestApp()
  ;({ owner, editor, viewer, stranger, admin, projectId } = await makeProjectRoles(t.app))
  taskId = (await makeTask(t.app, owner, projectId)).id
  agent = await registerAgent(t.app, owner, { projectId })
  strangerAgent = await registerAgent(t.app, stranger, { projectId: await makeProject(t.app, stranger) })
})
afterAll(async () => { await t.close() })

describe('access to runs (AZ-01, AZ-03)', () => {
  it('follows the project role on every route', async () => {
    const id = await runNow(t.app, owner, taskId)
    const table: Array<[string, 'GET' | 'POST', string, Record<string, number>]> = [
      ['get', 'GET', `/api/v1/executions/${id}`, { anonymous: 401, stranger: 404, viewer: 200, editor: 200, admin: 200 }],
      ['run now', 'POST', `/api/v1/tasks/${taskId}/run`, { anonymous: 401, stranger: 404, viewer: 403, editor: 202, admin: 202 }],
      ['metrics', 'GET', `/api/v1/agents/${agent.id}/metrics`, { anonymous: 401, stranger: 404, viewer: 200, editor: 200, admin: 200 }]
    ]
    const callers: Record<string, TestUser | null> = { anonymous: null, stranger, viewer, editor, admin }
    for (const [name, method, url, expected] of table) {
      for (const [who, status] of Object.entries(expected)) {
        const user = callers[who]!
        const res = await t.app.inject(user ? as(user, { method, url }) : { method, url })
        expect(res.statusCode, `${name} as ${who}`).toBe(status)
      }
    }
    // Cancel last: viewer 403, stranger 404, editor 200.
    expect((await t.app.inject(as(stranger, { method: 'POST', url: `/api/v1/executions/${id}/cancel` }))).statusCode).toBe(404)
    expect((await t.app.inject(as(viewer, { method: 'POST', url: `/api/v1/executions/${id}/cancel` }))).statusCode).toBe(403)
    expect((await t.app.inject(as(editor, { method: 'POST', url: `/api/v1/executions/${id}/cancel` }))).statusCode).toBe(200)
  })

  it('answers a foreign run exactly like a missing one', async () => {
    const id = await runNow(t.app, owner, taskId)
    const foreign = await t.app.inject(as(stranger, { method: 'GET', url: `/api/v1/executions/${id}` }))
    const missing = await t.app.inject(as(stranger, { method: 'GET', url: `/api/v1/executions/${MISSING}` }))
    const strip = (body: string) => { const { instance: _i, requestId: _r, ...rest } = JSON.parse(body) as Record<string, unknown>; return rest }
    expect(strip(foreign.body)).toEqual(strip(missing.body))
  })

  it('never lists another project\'s runs, whatever the filters', async () => {
    await runNow(t.app, owner, taskId)
    const ids = async (user: TestUser | TestAgent, query: string) => {
      const options = { method: 'GET' as const, url: `/api/v1/executions${query}` }
      const res = await t.app.inject('apiKey' in user ? asAgent(user, options) : as(user, options))
      expect(res.statusCode).toBe(200)
      return (res.json() as { items: Array<{ projectId: string }> }).items
    }
    for (const query of ['', `?projectId=${projectId}`, `?taskId=${taskId}`, `?agentId=${agent.id}`, '?status=queued']) {
      expect(await ids(stranger, query), query).toEqual([])
      expect(await ids(strangerAgent, query), query).toEqual([])
    }
    expect((await ids(viewer, '')).length).toBeGreaterThan(0)
    expect((await ids(admin, `?projectId=${projectId}`)).length).toBeGreaterThan(0)
    expect((await t.app.inject(as(viewer, { method: 'GET', url: '/api/v1/executions?cursor=not-a-cursor' }))).statusCode).toBe(400)
    expect((await t.app.inject(as(viewer, { method: 'GET', url: '/api/v1/executions?limit=1000' }))).statusCode).toBe(400)
  })
})

// A project of its own, so the agent's claim can only get this run.
async function isolatedRun (): Promise<{ agent: TestAgent, id: string }> {
  const project = await makeProject(t.app, owner)
  const agent = await registerAgent(t.app, owner, { projectId: project })
  return { agent, id: await runNow(t.app, owner, (await makeTask(t.app, owner, project)).id) }
}

describe('agents and runs', () => {
  it('shows an agent only the runs it holds, and refuses reports on anyone else\'s', async () => {
    const { agent, id } = await isolatedRun()
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: `/api/v1/executions/${id}` }))).statusCode).toBe(404)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))).json()).toMatchObject({ id })
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: `/api/v1/executions/${id}` }))).statusCode).toBe(200)
    for (const action of ['progress', 'complete', 'fail']) {
      const res = await t.app.inject(asAgent(strangerAgent, { method: 'POST', url: `/api/v1/executions/${id}/${action}`, payload: action === 'fail' ? { error: 'x' } : {} }))
      expect(res.statusCode, action).toBe(404)
    }
    // People cannot report on runs, even the project owner.
    expect((await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: {} }))).statusCode).toBe(403)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: { result: { ok: 1 } } }))).statusCode).toBe(200)
  })

  it('bounds reports: result size, log size, unknown fields', async () => {
    const { agent, id } = await isolatedRun()
    await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
    const big = { result: { blob: 'x'.repeat(70_000) } }
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: big }))).statusCode).toBe(400)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/progress`, payload: { log: 'x'.repeat(70_000) } }))).statusCode).toBe(400)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/progress`, payload: { status: 'succeeded' } }))).statusCode).toBe(400)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/progress`, payload: { progress: 101 } }))).statusCode).toBe(400)
    const deep = '{"result":' + '['.repeat(40) + ']'.repeat(40) + '}'
    const res = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/complete`, payload: deep, headers: { 'content-type': 'application/json' } }))
    expect(res.statusCode).toBe(400)
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: `/api/v1/executions/${id}` }))).json()).toMatchObject({ status: 'running' })
  })
})

describe('run now with an Idempotency-Key (RL-07)', () => {
  const run = async (user: TestUser, task: string, key?: string) =>
    t.app.inject(as(user, { method: 'POST', url: `/api/v1/tasks/${task}/run`, headers: key === undefined ? {} : { 'idempotency-key': key } }))

  it('gives the same run back for the same key, sequentially and concurrently', async () => {
    const first = await run(owner, taskId, 'key-1')
    expect(first.statusCode).toBe(202)
    const again = await run(owner, taskId, 'key-1')
    expect(again.statusCode).toBe(200)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect((again.json() as { id: string }).id).toBe((first.json() as { id: string }).id)
    const burst = await Promise.all(Array.from({ length: 10 }, () => run(owner, taskId, 'key-2')))
    expect(new Set(burst.map((r) => (r.json() as { id: string }).id)).size).toBe(1)
    expect(burst.filter((r) => r.statusCode === 202)).toHaveLength(1)
  })

  it('refuses a key reused for another task (422), scopes keys per user, and checks the key', async () => {
    const other = (await makeTask(t.app, owner, projectId)).id
    await run(owner, taskId, 'key-3')
    expect((await run(owner, other, 'key-3')).statusCode).toBe(422)
    const editorRun = await run(editor, taskId, 'key-3')
    expect(editorRun.statusCode).toBe(202)
    expect((await run(owner, taskId, 'bad key with spaces')).statusCode).toBe(400)
  })
})

describe('run-now flood (RC-06)', () => {
  it(`queues at most ${MAX_QUEUED_PER_TASK} runs of one task, also when the requests come all at once (409 beyond)`, async () => {
    const flooded = (await makeTask(t.app, owner, projectId, { target: { labels: ['nobody-has-this'] } })).id
    for (let i = 0; i < MAX_QUEUED_PER_TASK - 5; i++) await runNow(t.app, owner, flooded)
    const burst = await Promise.all(Array.from({ length: 30 }, () => t.app.inject(as(owner, { method: 'POST', url: `/api/v1/tasks/${flooded}/run` }))))
    expect(burst.filter((r) => r.statusCode === 202)).toHaveLength(5)
    const refused = burst.filter((r) => r.statusCode !== 202)
    expect(refused.every((r) => r.statusCode === 409 && (r.json() as { code: string }).code === 'TOO_MANY_QUEUED')).toBe(true)
    const queued = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/executions?taskId=${flooded}&status=queued&limit=100` }))
    expect((queued.json() as { items: unknown[] }).items).toHaveLength(MAX_QUEUED_PER_TASK)
  })
})
