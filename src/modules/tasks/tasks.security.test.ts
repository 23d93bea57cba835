import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { newId } from '../../lib/ids.ts'
import { createTask, makeMember, makeProjectRoles } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser, editor: TestUser, viewer: TestUser, stranger: TestUser, admin: TestUser, projectId: string

interface Route { name: string, write: boolean, options: (task: string, project: string) => InjectOptions }

const routes: Route[] = [
  { name: 'list', write: false, options: (_task, project) => ({ method: 'GET', url: `/api/v1/projects/${project}/tasks` }) },
  { name: 'create', write: true, options: (_task, project) => ({ method: 'POST', url: `/api/v1/projects/${project}/tasks`, payload: { name: 'made' } }) },
  { name: 'get', write: false, options: (task) => ({ method: 'GET', url: `/api/v1/tasks/${task}` }) },
  { name: 'update', write: true, options: (task) => ({ method: 'PATCH', url: `/api/v1/tasks/${task}`, payload: { description: 'changed' } }) },
  { name: 'pause', write: true, options: (task) => ({ method: 'POST', url: `/api/v1/tasks/${task}/pause` }) },
  { name: 'resume', write: true, options: (task) => ({ method: 'POST', url: `/api/v1/tasks/${task}/resume` }) },
  { name: 'delete', write: true, options: (task) => ({ method: 'DELETE', url: `/api/v1/tasks/${task}` }) }
]
const projectRoute = (r: Route) => r.name === 'list' || r.name === 'create'
const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined, instance: undefined })

async function storedTask (id: string): Promise<string | undefined> {
  const { rows } = await t.app.dbPool.query('SELECT row_to_json(x)::text AS row FROM tasks x WHERE id = $1', [id])
  return rows[0]?.row as string | undefined
}

async function taskCount (): Promise<number> {
  const { rows } = await t.app.dbPool.query('SELECT count(*)::int AS n FROM tasks WHERE project_id = $1', [projectId])
  return rows[0].n as number
}

beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  ;({ owner, editor, viewer, stranger, admin, projectId } = await makeProjectRoles(t.app))
})
afterAll(async () => { await t.close() })

describe('access table', () => {
  it.each(routes)('anonymous $name → 401', async (route) => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 * * * *' })
    const res = await t.app.inject(route.options(task.id, projectId))
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('AUTH_REQUIRED')
    expect(await storedTask(task.id)).toBeDefined()
  })

  it.each(routes)('a non-member on $name → 404, the body of a missing one, and nothing changes', async (route) => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 * * * *' })
    const before = await storedTask(task.id)
    const count = await taskCount()
    const foreign = await t.app.inject(as(stranger, route.options(task.id, projectId)))
    const missing = await t.app.inject(as(stranger, route.options(newId(), newId())))
    expect(foreign.statusCode).toBe(404)
    expect(strip(foreign.json())).toEqual(strip(missing.json()))
    expect(foreign.json().code).toBe(projectRoute(route) ? 'PROJECT_NOT_FOUND' : 'TASK_NOT_FOUND')
    expect(await storedTask(task.id)).toBe(before)
    expect(await taskCount()).toBe(count)
  })

  it.each(routes)('a viewer on $name → 200 for reads, 403 for writes (nothing changes)', async (route) => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 * * * *' })
    const before = await storedTask(task.id)
    const count = await taskCount()
    const res = await t.app.inject(as(viewer, route.options(task.id, projectId)))
    if (route.write) {
      expect(res.statusCode).toBe(403)
      expect(res.json().code).toBe('PROJECT_ROLE_REQUIRED')
      expect(await storedTask(task.id)).toBe(before)
      expect(await taskCount()).toBe(count)
    } else {
      expect(res.statusCode).toBe(200)
    }
  })

  it.each(routes.flatMap((route) => [{ who: 'editor', route }, { who: 'owner', route }, { who: 'admin (not a member)', route }]))(
    '$who on $route.name → 2xx', async ({ who, route }) => {
      const user = who === 'editor' ? editor : who === 'owner' ? owner : admin
      const task = await createTask(t.app, owner, projectId, { schedule: '0 * * * *' })
      const res = await t.app.inject(as(user, route.options(task.id, projectId)))
      expect(res.statusCode, res.body).toBe(route.name === 'create' ? 201 : route.name === 'delete' ? 204 : 200)
    })

  it('an API key works within its scopes: task:read reads, and cannot write', async () => {
    const made = await t.app.inject(as(editor, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: ['task:read'] } }))
    expect(made.statusCode, made.body).toBe(201)
    const key = made.json().key as string
    const task = await createTask(t.app, owner, projectId)
    const read = await t.app.inject({ method: 'GET', url: `/api/v1/tasks/${task.id}`, headers: { 'x-api-key': key } })
    expect(read.statusCode).toBe(200)
    const write = await t.app.inject({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, headers: { 'x-api-key': key }, payload: { name: 'by key' } })
    expect(write.statusCode).toBe(403)
    expect(write.json().code).toBe('FORBIDDEN')
  })

  it('a member removed from the project loses access at once', async () => {
    const leaver = await makeMember(t.app, owner, projectId, 'editor')
    const task = await createTask(t.app, owner, projectId)
    expect((await t.app.inject(as(leaver, { method: 'GET', url: `/api/v1/tasks/${task.id}` }))).statusCode).toBe(200)
    const removed = await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/projects/${projectId}/members/${leaver.id}` }))
    expect(removed.statusCode, removed.body).toBe(204)
    expect((await t.app.inject(as(leaver, { method: 'GET', url: `/api/v1/tasks/${task.id}` }))).statusCode).toBe(404)
  })
})

describe('mass assignment', () => {
  const privileged = { id: newId(), projectId: newId(), nextRunAt: '2000-01-01T00:00:00.000Z', createdBy: newId(), createdAt: '2000-01-01T00:00:00.000Z', updatedAt: '2000-01-01T00:00:00.000Z', nextRuns: [] }

  it.each(Object.entries(privileged))('%s in a create body → 400, nothing created', async (field, value) => {
    const count = await taskCount()
    const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/tasks`, payload: { name: 'x', [field]: value } }))
    expect(res.statusCode).toBe(400)
    expect(res.json().errors).toEqual([{ path: `body.${field}`, message: 'is not an allowed property' }])
    expect(await taskCount()).toBe(count)
  })

  it.each(Object.entries(privileged))('%s in an update body → 400, nothing changed', async (field, value) => {
    const task = await createTask(t.app, owner, projectId, { schedule: '0 * * * *' })
    const before = await storedTask(task.id)
    const res = await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { name: 'y', [field]: value } }))
    expect(res.statusCode).toBe(400)
    expect(res.json().errors).toEqual([{ path: `body.${field}`, message: 'is not an allowed property' }])
    expect(await storedTask(task.id)).toBe(before)
  })

  it('records who created a task from the credentials, never from the body', async () => {
    const task = await createTask(t.app, editor, projectId)
    const { rows } = await t.app.dbPool.query('SELECT created_by FROM tasks WHERE id = $1', [task.id])
    expect(rows[0].created_by).toBe(editor.id)
  })
})
