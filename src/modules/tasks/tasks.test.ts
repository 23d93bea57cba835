import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { newId } from '../../lib/ids.ts'
import { createTask, makeProject } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser
let projectId: string

const send = (options: InjectOptions) => t.app.inject(as(owner, options))
const post = (payload: unknown, project = projectId) => send({ method: 'POST', url: `/api/v1/projects/${project}/tasks`, payload: payload as Record<string, unknown> })
const paths = (res: { json: () => unknown }) => ((res.json() as { errors?: Array<{ path: string }> }).errors ?? []).map((e) => e.path)

beforeAll(async () => {
  t = await createTestApp()
  owner = await makeUser(t.app)
  projectId = await makeProject(t.app, owner)
})
afterAll(async () => { await t.close() })

describe('create, read, update, delete', () => {
  it('creates a task with the defaults and reads it back', async () => {
    const res = await post({ name: 'nightly report' })
    expect(res.statusCode, res.body).toBe(201)
    const task = res.json()
    expect(task).toMatchObject({
      projectId,
      name: 'nightly report',
      description: '',
      schedule: null,
      timezone: 'UTC',
      enabled: true,
      payload: {},
      target: { agentId: null, labels: [] },
      timeoutSeconds: 3600,
      retry: { maxAttempts: 1, backoffSeconds: 30 },
      nextRunAt: null,
      nextRuns: []
    })
    expect(Object.keys(task).sort()).toEqual(['createdAt', 'description', 'enabled', 'id', 'name', 'nextRunAt', 'nextRuns', 'payload', 'projectId', 'retry', 'schedule', 'target', 'timeoutSeconds', 'timezone', 'updatedAt'])
    const read = await send({ method: 'GET', url: `/api/v1/tasks/${task.id}` })
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(task)
  })

  it('stores every field given', async () => {
    const body = {
      name: 'sync',
      description: 'Pull the upstream data',
      schedule: '*/15 * * * *',
      timezone: 'Europe/Paris',
      enabled: true,
      payload: { source: 's3://bucket', items: [1, 2, { deep: true }], note: null },
      target: { labels: ['linux', 'gpu.a100'] },
      timeoutSeconds: 600,
      retry: { maxAttempts: 5, backoffSeconds: 10 }
    }
    const res = await post(body)
    expect(res.statusCode, res.body).toBe(201)
    const { id, createdAt, updatedAt, nextRunAt, nextRuns, ...rest } = res.json()
    expect(rest).toEqual({ ...body, projectId, target: { agentId: null, labels: ['linux', 'gpu.a100'] } })
    expect(nextRunAt).toBe(nextRuns[0])
    expect(typeof id).toBe('string')
    expect(createdAt).toBe(updatedAt)
  })

  it('updates some fields and leaves the others', async () => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 * * * *', payload: { a: 1 }, retry: { maxAttempts: 3, backoffSeconds: 5 } })
    const res = await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { name: 'renamed', retry: { backoffSeconds: 60 } } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ name: 'renamed', schedule: '0 * * * *', payload: { a: 1 }, retry: { maxAttempts: 3, backoffSeconds: 60 } })
    // An edit that leaves the schedule alone never moves the pending slot.
    expect(res.json().nextRunAt).toBe(task.nextRunAt)
    const cleared = await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { schedule: null, target: { labels: ['arm64'] } } })
    expect(cleared.json()).toMatchObject({ schedule: null, nextRunAt: null, nextRuns: [], target: { agentId: null, labels: ['arm64'] } })
  })

  it('refuses to move a task to another project, or an empty update', async () => {
    const task = await createTask(t.app, owner, projectId)
    const other = await makeProject(t.app, owner, 'other')
    const res = await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { projectId: other } })
    expect(res.statusCode).toBe(400)
    expect(paths(res)).toEqual(['body.projectId'])
    expect((await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: {} })).statusCode).toBe(400)
    expect((await send({ method: 'GET', url: `/api/v1/tasks/${task.id}` })).json().projectId).toBe(projectId)
  })

  it('deletes a task (204), keeps its executions with the task id set to null, and audits it', async () => {
    const task = await createTask(t.app, owner, projectId, { name: 'doomed' })
    const executionId = newId()
    await t.app.dbPool.query(
      "INSERT INTO executions (id, task_id, project_id, task_name, trigger, timeout_seconds) VALUES ($1, $2, $3, 'doomed', 'manual', 60)",
      [executionId, task.id, projectId])
    const res = await send({ method: 'DELETE', url: `/api/v1/tasks/${task.id}` })
    expect(res.statusCode).toBe(204)
    expect((await send({ method: 'GET', url: `/api/v1/tasks/${task.id}` })).statusCode).toBe(404)
    const { rows } = await t.app.dbPool.query('SELECT task_id, task_name FROM executions WHERE id = $1', [executionId])
    expect(rows).toEqual([{ task_id: null, task_name: 'doomed' }])
    expect((await send({ method: 'DELETE', url: `/api/v1/tasks/${task.id}` })).statusCode).toBe(404)
  })

  it('pauses and resumes, idempotently', async () => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 9 * * *' })
    expect(task.nextRunAt).not.toBeNull()
    for (let i = 0; i < 2; i++) {
      const paused = await send({ method: 'POST', url: `/api/v1/tasks/${task.id}/pause` })
      expect(paused.statusCode).toBe(200)
      expect(paused.json()).toMatchObject({ enabled: false, nextRunAt: null, nextRuns: [] })
    }
    const resumed = await send({ method: 'POST', url: `/api/v1/tasks/${task.id}/resume` })
    expect(resumed.json()).toMatchObject({ enabled: true, nextRunAt: task.nextRunAt })
    const again = await send({ method: 'POST', url: `/api/v1/tasks/${task.id}/resume` })
    expect(again.json()).toEqual(resumed.json())
  })

  it('pages a project\'s tasks newest first, filtered by enabled and by name', async () => {
    const project = await makeProject(t.app, owner, 'paging')
    const made = []
    for (let i = 0; i < 5; i++) made.push(await createTask(t.app, owner, project, { name: `job ${i}${i === 3 ? ' 50%_off' : ''}`, enabled: i % 2 === 0 }))
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await send({ method: 'GET', url: `/api/v1/projects/${project}/tasks?limit=2${cursor ? `&cursor=${cursor}` : ''}` })
      expect(res.statusCode).toBe(200)
      const body = res.json() as { items: Array<{ id: string }>, nextCursor: string | null }
      expect(body.items.length).toBeLessThanOrEqual(2)
      seen.push(...body.items.map((i) => i.id))
      cursor = body.nextCursor
    } while (cursor)
    expect(seen).toEqual(made.map((m) => m.id).reverse())
    const enabled = await send({ method: 'GET', url: `/api/v1/projects/${project}/tasks?enabled=false` })
    expect(enabled.json().items.map((i: { name: string }) => i.name)).toEqual(['job 3 50%_off', 'job 1'])
    // % and _ are matched as themselves, not as wildcards.
    const q = await send({ method: 'GET', url: `/api/v1/projects/${project}/tasks?q=${encodeURIComponent('0%_O')}` })
    expect(q.json().items.map((i: { name: string }) => i.name)).toEqual(['job 3 50%_off'])
    expect((await send({ method: 'GET', url: `/api/v1/projects/${project}/tasks?q=${encodeURIComponent('%')}` })).json().items).toHaveLength(1)
    expect((await send({ method: 'GET', url: `/api/v1/projects/${project}/tasks?cursor=nonsense` })).statusCode).toBe(400)
  })
})

describe('next runs', () => {
  const parisTime = (iso: string) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso))

  it('shows the next run and the next five, in the task time zone', async () => {
    const before = Date.now()
    const task = await createTask(t.app, owner, projectId, { schedule: '0 9 * * *', timezone: 'Europe/Paris' })
    expect(task.nextRuns).toHaveLength(5)
    expect(task.nextRunAt).toBe(task.nextRuns[0])
    expect(task.nextRuns.map(parisTime)).toEqual(Array(5).fill('09:00:00'))
    const first = Date.parse(task.nextRunAt!)
    expect(first).toBeGreaterThan(before)
    expect(first - before).toBeLessThanOrEqual(25 * 3_600_000)
    const days = task.nextRuns.map((r) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date(r)))
    expect(new Set(days).size).toBe(5)
  })

  it('recomputes the next run when the schedule or time zone changes', async () => {
    const task = await createTask(t.app, owner, projectId, { schedule: '*/15 * * * *' })
    const gaps = task.nextRuns.slice(1).map((r, i) => Date.parse(r) - Date.parse(task.nextRuns[i]!))
    expect(gaps).toEqual([900_000, 900_000, 900_000, 900_000])
    expect(new Date(task.nextRunAt!).getUTCMinutes() % 15).toBe(0)
    const changed = (await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { schedule: '30 12 * * *', timezone: 'America/New_York' } })).json()
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(changed.nextRunAt))).toBe('12:30')
  })

  it('stores a time zone with the letter case of its IANA name', async () => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 9 * * *', timezone: 'europe/paris' })
    expect(task.timezone).toBe('Europe/Paris')
    const changed = (await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { timezone: 'america/new_york' } })).json()
    expect(changed.timezone).toBe('America/New_York')
  })

  it('has no next run when unscheduled or disabled', async () => {
    expect(await createTask(t.app, owner, projectId, { schedule: null })).toMatchObject({ nextRunAt: null, nextRuns: [] })
    expect(await createTask(t.app, owner, projectId, { schedule: '0 * * * *', enabled: false })).toMatchObject({ nextRunAt: null, nextRuns: [] })
  })
})
