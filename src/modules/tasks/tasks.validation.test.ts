import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { newId } from '../../lib/ids.ts'
import { createTask, makeProject } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser
let admin: TestUser
let projectId: string

const send = (options: InjectOptions, user = owner) => t.app.inject(as(user, options))
const post = (payload: unknown, project = projectId, user = owner) => send({ method: 'POST', url: `/api/v1/projects/${project}/tasks`, payload: payload as Record<string, unknown> }, user)
const errorsOf = (res: { json: () => unknown }) => (res.json() as { errors?: Array<{ path: string, message: string }> }).errors ?? []
const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) })

beforeAll(async () => {
  t = await createTestApp()
  owner = await makeUser(t.app)
  admin = await makeUser(t.app, { roles: ['admin'] })
  projectId = await makeProject(t.app, owner)
})
afterAll(async () => { await t.close() })

describe('each bad field is named in the 400', () => {
  it.each([
    ['schedule', { schedule: '61 * * * *' }, 'body.schedule', "the minute field '61' is out of range 0-59"],
    ['schedule (day field)', { schedule: '0 0 32 * *' }, 'body.schedule', "the day-of-month field '32' is out of range 1-31"],
    ['schedule (every second)', { schedule: '* * * * * *' }, 'body.schedule', 'runs every 1 s; the minimum interval is 60 s'],
    ['schedule (every 30 s)', { schedule: '0,30 * * * * *' }, 'body.schedule', 'runs every 30 s; the minimum interval is 60 s'],
    ['schedule (year field)', { schedule: '0 0 0 1 1 * 2030' }, 'body.schedule', /year field is not supported/],
    ['schedule (@reboot)', { schedule: '@reboot' }, 'body.schedule', /'@reboot' is not supported/],
    ['schedule (empty)', { schedule: '' }, 'body.schedule', 'the schedule is empty'],
    ['schedule (too long)', { schedule: 'x'.repeat(201) }, 'body.schedule', /200/],
    ['timezone', { schedule: '0 9 * * *', timezone: 'Mars/Olympus' }, 'body.timezone', /not a known IANA time zone/],
    ['timezone (an offset)', { timezone: '+02:00' }, 'body.timezone', /not a known IANA time zone/],
    ['name (empty)', { name: '' }, 'body.name', /fewer than 1/],
    ['name (too long)', { name: 'n'.repeat(201) }, 'body.name', /more than 200/],
    ['description', { description: 'd'.repeat(2001) }, 'body.description', /more than 2000/],
    ['enabled', { enabled: 'yes' }, 'body.enabled', /boolean/],
    ['timeoutSeconds (0)', { timeoutSeconds: 0 }, 'body.timeoutSeconds', />= 1/],
    ['timeoutSeconds (a day and a second)', { timeoutSeconds: 86401 }, 'body.timeoutSeconds', /<= 86400/],
    ['retry.maxAttempts', { retry: { maxAttempts: 11 } }, 'body.retry.maxAttempts', /<= 10/],
    ['retry.backoffSeconds', { retry: { backoffSeconds: 0 } }, 'body.retry.backoffSeconds', />= 1/],
    ['retry (unknown field)', { retry: { jitter: true } }, 'body.retry.jitter', 'is not an allowed property'],
    ['target.labels (bad label)', { target: { labels: ['GPU'] } }, 'body.target.labels.0', /pattern/],
    ['target.labels (too many)', { target: { labels: Array.from({ length: 21 }, (_, i) => `l${i}`) } }, 'body.target.labels', /more than 20/],
    ['target.agentId (not a uuid)', { target: { agentId: 'agent-1' } }, 'body.target.agentId', /./],
    ['target.agentId (unknown agent)', { target: { agentId: newId() } }, 'body.target.agentId', 'is not an agent of this project or a global agent'],
    ['target (both)', { target: { agentId: newId(), labels: ['linux'] } }, 'body.target', 'give either agentId or labels, not both'],
    ['payload (null)', { payload: null }, 'body.payload', /must not be null/],
    ['payload (over 64 KiB)', { payload: { blob: 'x'.repeat(65_536) } }, 'body.payload', /at most 65536/]
  ])('%s', async (_name, patch, path, message) => {
    const res = await post({ name: 'x', ...patch })
    expect(res.statusCode, res.body).toBe(400)
    const [first] = errorsOf(res)
    expect(first?.path.startsWith(path), JSON.stringify(errorsOf(res))).toBe(true)
    if (typeof message === 'string') expect(first?.message).toBe(message)
    else expect(first?.message).toMatch(message)
  })

  it('names every refused field at once', async () => {
    const res = await post({ name: 'x', schedule: '0 0 * * 9', timezone: 'Europe/Paris', payload: null, target: { agentId: newId() } })
    expect(errorsOf(res).map((e) => e.path)).toEqual(['body.schedule', 'body.payload', 'body.target.agentId'])
    expect(res.json().detail).toBe("body.schedule the day-of-week field '9' is out of range 0-7 (or SUN-SAT)")
  })

  it('checks a PATCH the same way, and a new time zone against the schedule', async () => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 9 * * *' })
    const bad = await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { timezone: 'Mars/Olympus' } })
    expect(errorsOf(bad).map((e) => e.path)).toEqual(['body.timezone'])
    const badCron = await send({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { schedule: '*/10 * * * * *' } })
    expect(errorsOf(badCron)).toEqual([{ path: 'body.schedule', message: 'runs every 10 s; the minimum interval is 60 s' }])
    expect((await send({ method: 'GET', url: `/api/v1/tasks/${task.id}` })).json()).toEqual(task)
  })

  it('accepts the boundaries', async () => {
    const res = await post({
      name: 'n'.repeat(200),
      description: 'd'.repeat(2000),
      schedule: '0 */5 * * * *',
      timeoutSeconds: 86400,
      retry: { maxAttempts: 10, backoffSeconds: 86400 },
      target: { labels: Array.from({ length: 20 }, (_, i) => `label-${i}.x_y`) },
      payload: { blob: 'x'.repeat(65_000) }
    })
    expect(res.statusCode, res.body).toBe(201)
  })
})

describe('payload depth (SECURITY.md RC-03)', () => {
  it('takes a payload as deep as the body allows, and refuses a deeper body with 400 (nothing stored)', async () => {
    // The body object adds one level to the payload's own nesting; the body limit is 32.
    expect((await post({ name: 'deep', payload: nested(31) })).statusCode).toBe(201)
    const before = (await send({ method: 'GET', url: `/api/v1/projects/${projectId}/tasks?limit=100` })).json().items.length
    const res = await post({ name: 'deeper', payload: nested(32) })
    expect(res.statusCode).toBe(400)
    const hostile = await send({ method: 'POST', url: `/api/v1/projects/${projectId}/tasks`, headers: { 'content-type': 'application/json' }, payload: `{"name":"x","payload":${'['.repeat(20_000)}${']'.repeat(20_000)}}` })
    expect(hostile.statusCode).toBe(400)
    expect((await send({ method: 'GET', url: `/api/v1/projects/${projectId}/tasks?limit=100` })).json().items.length).toBe(before)
  })

  it('refuses a payload deeper than 32 even where the body limit is higher', async () => {
    const loose = await createTestApp({ env: { JSON_MAX_DEPTH: '64' } })
    try {
      const user = await makeUser(loose.app)
      const project = await makeProject(loose.app, user)
      const res = await loose.app.inject(as(user, { method: 'POST', url: `/api/v1/projects/${project}/tasks`, payload: { name: 'deep', payload: nested(40) } }))
      expect(res.statusCode).toBe(400)
      expect(errorsOf(res)).toEqual([{ path: 'body.payload', message: 'nests deeper than 32 levels' }])
    } finally {
      await loose.close()
    }
  })
})

describe('target agent', () => {
  async function registerAgent (user: TestUser, project?: string): Promise<string> {
    const res = await send({ method: 'POST', url: '/api/v1/agents', payload: { name: 'worker', ...(project ? { projectId: project } : {}) } }, user)
    expect(res.statusCode, res.body).toBe(201)
    return res.json().agent.id as string
  }

  it("takes the project's own agent or a global one, never another project's", async () => {
    const own = await registerAgent(owner, projectId)
    const global = await registerAgent(admin)
    const otherProject = await makeProject(t.app, owner, 'elsewhere')
    const foreign = await registerAgent(owner, otherProject)
    expect((await post({ name: 'own', target: { agentId: own } })).json().target).toEqual({ agentId: own, labels: [] })
    expect((await post({ name: 'global', target: { agentId: global } })).statusCode).toBe(201)
    const res = await post({ name: 'foreign', target: { agentId: foreign } })
    expect(res.statusCode).toBe(400)
    expect(errorsOf(res)[0]?.path).toBe('body.target.agentId')
  })
})

describe('tasks per project (SECURITY.md decision 9)', () => {
  it('holds at most 100 tasks per project, also under concurrent creates (409)', async () => {
    const project = await makeProject(t.app, owner, 'full')
    for (let batch = 0; batch < 9; batch++) {
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => post({ name: `t${batch}-${i}` }, project)))
      expect(replies.map((r) => r.statusCode)).toEqual(Array(10).fill(201))
    }
    // 90 exist; 20 at once: exactly 10 fit.
    const race = await Promise.all(Array.from({ length: 20 }, (_, i) => post({ name: `race-${i}` }, project)))
    const codes = race.map((r) => r.statusCode).sort()
    expect(codes.filter((c) => c === 201)).toHaveLength(10)
    expect(codes.filter((c) => c === 409)).toHaveLength(10)
    expect(race.find((r) => r.statusCode === 409)!.json().code).toBe('TASK_LIMIT')
    const { rows } = await t.app.dbPool.query('SELECT count(*)::int AS n FROM tasks WHERE project_id = $1', [project])
    expect(rows[0].n).toBe(100)
    // Another project is not affected.
    expect((await post({ name: 'elsewhere' })).statusCode).toBe(201)
  })

  it('takes its cap from TASKS_MAX_PER_PROJECT', async () => {
    const small = await createTestApp({ env: { TASKS_MAX_PER_PROJECT: '2' } })
    try {
      const user = await makeUser(small.app)
      const project = await makeProject(small.app, user)
      const create = () => small.app.inject(as(user, { method: 'POST', url: `/api/v1/projects/${project}/tasks`, payload: { name: 'x' } }))
      expect((await create()).statusCode).toBe(201)
      expect((await create()).statusCode).toBe(201)
      const res = await create()
      expect(res.statusCode).toBe(409)
      expect(res.json().detail).toBe('This project holds the maximum of 2 tasks; delete one first')
    } finally {
      await small.close()
    }
  })
})
