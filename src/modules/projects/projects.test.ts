import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { newId } from '../../lib/ids.ts'
import { MAX_OWNED_PROJECTS } from './service.ts'

interface ProjectBody { id: string, name: string, description: string, ownerId: string, role: string, createdAt: string, updatedAt: string }

let t: TestApp
let alice: TestUser

async function create (user: TestUser, payload: Record<string, unknown>): Promise<ProjectBody> {
  const res = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/projects', payload }))
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}

async function list (user: TestUser, query: string) {
  const res = await t.app.inject(as(user, { method: 'GET', url: `/api/v1/projects?${query}` }))
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as { items: ProjectBody[], nextCursor: string | null }
}

async function walk (user: TestUser, query: string, limit: number): Promise<ProjectBody[]> {
  const seen: ProjectBody[] = []
  let cursor: string | null = null
  for (let pages = 0; pages < 100; pages++) {
    const page = await list(user, `${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    expect(page.items.length).toBeLessThanOrEqual(limit)
    seen.push(...page.items)
    cursor = page.nextCursor
    if (!cursor) return seen
  }
  throw new Error('pagination did not end')
}

beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  alice = await makeUser(t.app)
})
afterAll(async () => { await t.close() })

describe('CRUD', () => {
  it('creates a project with the caller as owner and member, then reads, updates and lists it', async () => {
    const created = await create(alice, { name: 'Launch', description: 'The launch plan' })
    expect(created).toMatchObject({ name: 'Launch', description: 'The launch plan', ownerId: alice.id, role: 'owner' })
    const { rows } = await t.app.dbPool.query('SELECT user_id, role FROM project_members WHERE project_id = $1', [created.id])
    expect(rows).toEqual([{ user_id: alice.id, role: 'owner' }])
    await expectAudit(t, { action: 'project.created', outcome: 'success', actorId: alice.id, targetId: created.id })

    const got = await t.app.inject(as(alice, { method: 'GET', url: `/api/v1/projects/${created.id}` }))
    expect(got.statusCode).toBe(200)
    expect(got.json()).toEqual(created)

    const patched = await t.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/projects/${created.id}`, payload: { name: 'Launch v2' } }))
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json()).toMatchObject({ id: created.id, name: 'Launch v2', description: 'The launch plan', role: 'owner' })
    expect(Date.parse(patched.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt))

    const described = await t.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/projects/${created.id}`, payload: { description: '' } }))
    expect(described.json()).toMatchObject({ name: 'Launch v2', description: '' })

    expect((await list(alice, 'limit=100')).items.map((p) => p.id)).toContain(created.id)
  })

  it('description defaults to empty; blank or over-long names and empty patches are 400', async () => {
    expect((await create(alice, { name: 'No description' })).description).toBe('')
    const { id } = await create(alice, { name: 'Valid' })
    for (const payload of [{ name: '' }, { name: '   ' }, { name: 'x'.repeat(201) }, { name: 'ok', description: 'd'.repeat(2001) }, {}, { name: 42 }]) {
      const res = await t.app.inject(as(alice, { method: 'POST', url: '/api/v1/projects', payload }))
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
    }
    for (const payload of [{}, { name: '' }, { name: null }]) {
      const res = await t.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/projects/${id}`, payload }))
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
    }
  })

  it('deletes a project (204, audited): gone afterwards, a second delete is 404', async () => {
    const { id } = await create(alice, { name: 'Short-lived' })
    const res = await t.app.inject(as(alice, { method: 'DELETE', url: `/api/v1/projects/${id}` }))
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    await expectAudit(t, { action: 'project.deleted', outcome: 'success', actorId: alice.id, targetId: id })
    expect((await t.app.inject(as(alice, { method: 'GET', url: `/api/v1/projects/${id}` }))).statusCode).toBe(404)
    expect((await t.app.inject(as(alice, { method: 'DELETE', url: `/api/v1/projects/${id}` }))).statusCode).toBe(404)
    const { rows } = await t.app.dbPool.query('SELECT count(*)::int AS n FROM project_members WHERE project_id = $1', [id])
    expect(rows[0].n).toBe(0)
  })

  it('deleting a project deletes its tasks (their schedules with them) and keeps its executions with a null project', async () => {
    const { id } = await create(alice, { name: 'With tasks' })
    const taskId = newId()
    const executionId = newId()
    await t.app.dbPool.query("INSERT INTO tasks (id, project_id, name, schedule, next_run_at) VALUES ($1, $2, 'nightly', '0 3 * * *', now() + interval '1 hour')", [taskId, id])
    await t.app.dbPool.query("INSERT INTO executions (id, project_id, task_id, task_name, trigger, timeout_seconds, status) VALUES ($1, $2, $3, 'nightly', 'manual', 60, 'succeeded')", [executionId, id, taskId])

    expect((await t.app.inject(as(alice, { method: 'DELETE', url: `/api/v1/projects/${id}` }))).statusCode).toBe(204)
    const tasks = await t.app.dbPool.query('SELECT id FROM tasks WHERE id = $1 OR project_id = $2', [taskId, id])
    expect(tasks.rows).toEqual([])
    const executions = await t.app.dbPool.query('SELECT project_id, task_id, task_name, status FROM executions WHERE id = $1', [executionId])
    expect(executions.rows).toEqual([{ project_id: null, task_id: null, task_name: 'nightly', status: 'succeeded' }])
  })

  it(`a user owning ${MAX_OWNED_PROJECTS} projects cannot create another (409), and nothing is stored`, async () => {
    const busy = await makeUser(t.app)
    await t.app.dbPool.query("INSERT INTO projects (id, name, owner_id) SELECT gen_random_uuid(), 'p' || g, $1 FROM generate_series(1, $2::int) g", [busy.id, MAX_OWNED_PROJECTS])
    const res = await t.app.inject(as(busy, { method: 'POST', url: '/api/v1/projects', payload: { name: 'one more' } }))
    expect(res.statusCode).toBe(409)
    expect(res.json().code).toBe('PROJECT_LIMIT')
    const { rows } = await t.app.dbPool.query('SELECT count(*)::int AS n FROM projects WHERE owner_id = $1', [busy.id])
    expect(rows[0].n).toBe(MAX_OWNED_PROJECTS)
  })
})

describe('sort and cursor pagination', () => {
  let carol: TestUser
  const names = ['delta', 'alpha', 'charlie', 'bravo', 'alpha', 'echo', 'bravo']

  beforeAll(async () => {
    carol = await makeUser(t.app)
    for (const name of names) await create(carol, { name })
    // Rows sharing a creation time and a name: only the id can order them.
    const at = new Date().toISOString()
    for (let i = 0; i < 6; i++) {
      const id = newId()
      await t.app.dbPool.query('INSERT INTO projects (id, name, owner_id, created_at) VALUES ($1, $2, $3, $4)', [id, i % 2 ? 'golf' : 'foxtrot', carol.id, at])
      await t.app.dbPool.query("INSERT INTO project_members (id, project_id, user_id, role) VALUES ($1, $2, $3, 'owner')", [newId(), id, carol.id])
    }
  })

  const key = (sort: string) => (p: ProjectBody) => (sort.endsWith('name') ? p.name : p.createdAt)
  it.each(['createdAt', '-createdAt', 'name', '-name'])('sort=%s walks every row exactly once, in order, whatever the page size', async (sort) => {
    const all = await walk(carol, `sort=${sort}`, 100)
    expect(all).toHaveLength(names.length + 6)
    const sign = sort.startsWith('-') ? -1 : 1
    const value = key(sort)
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1]!, all[i]!]
      const cmp = value(a) === value(b) ? (a.id < b.id ? -1 : 1) : (value(a) < value(b) ? -1 : 1)
      expect(cmp * sign, `${value(a)} ${a.id} before ${value(b)} ${b.id}`).toBe(-1)
    }
    for (const limit of [1, 2, 3, 5]) {
      const paged = await walk(carol, `sort=${sort}`, limit)
      expect(paged.map((p) => p.id)).toEqual(all.map((p) => p.id))
    }
  })

  it('the default order is newest first', async () => {
    expect((await list(carol, 'limit=100')).items.map((p) => p.id)).toEqual((await walk(carol, 'sort=-createdAt', 100)).map((p) => p.id))
  })

  it('a cursor from another sort, an edited cursor or garbage is a 400', async () => {
    const page = await list(carol, 'sort=name&limit=2')
    const cursor = page.nextCursor!
    const [body, sig] = cursor.split('.') as [string, string]
    const edited = Buffer.from(JSON.stringify(['a', newId()])).toString('base64url')
    for (const bad of [`${edited}.${sig}`, `${body}.${sig.slice(0, -2)}AA`, body, 'not-a-cursor', `${cursor}.x`]) {
      const res = await t.app.inject(as(carol, { method: 'GET', url: `/api/v1/projects?sort=name&cursor=${encodeURIComponent(bad)}` }))
      expect(res.statusCode, bad).toBe(400)
    }
    for (const sort of ['-name', 'createdAt', '-createdAt']) {
      const res = await t.app.inject(as(carol, { method: 'GET', url: `/api/v1/projects?sort=${sort}&cursor=${encodeURIComponent(cursor)}` }))
      expect(res.statusCode, sort).toBe(400)
      expect(res.json().code).toBe('VALIDATION_FAILED')
    }
    expect((await t.app.inject(as(carol, { method: 'GET', url: '/api/v1/projects?sort=size' }))).statusCode).toBe(400)
    expect((await t.app.inject(as(carol, { method: 'GET', url: '/api/v1/projects?limit=101' }))).statusCode).toBe(400)
  })
})

describe('q full-text search and filters', () => {
  let dave: TestUser
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    dave = await makeUser(t.app)
    ids.api = (await create(dave, { name: 'Backend API', description: 'payments service' })).id
    ids.web = (await create(dave, { name: 'Frontend app', description: 'the web client for billing' })).id
    ids.ops = (await create(dave, { name: 'Ops', description: 'Backups and monitoring' })).id
  })

  const search = async (q: string) => (await list(dave, `limit=100&q=${encodeURIComponent(q)}`)).items.map((p) => p.id).sort()

  it.each([
    ['backend', ['api']],
    ['BACKEND', ['api']],
    ['bac', ['api', 'ops']],
    ['billing', ['web']],
    ['web client', ['web']],
    ['"web client"', ['web']],
    ['"client web"', []],
    ['payments or billing', ['api', 'web']],
    ['payments or bil', ['api', 'web']],
    ['backups -monitoring', []],
    ['frontend -bil', ['web']],
    ['nothing-like-this', []]
  ])('q=%s finds %j', async (q, expected) => {
    expect(await search(q)).toEqual(expected.map((k) => ids[k]).sort())
  })

  it.each(["'", "o'brien", '&', '|', '!', ':*', 'bac:*', '\\', 'a & b | !c', "'); DROP TABLE projects; --", '<->', '(((', '"', '" or "', '-', 'or', 'ünïcödé', '   '])(
    'q=%j is a 200, never a 500', async (q) => {
      const res = await t.app.inject(as(dave, { method: 'GET', url: `/api/v1/projects?q=${encodeURIComponent(q)}` }))
      expect(res.statusCode, res.body).toBe(200)
    })

  it('a q over 200 characters is a 400', async () => {
    expect((await t.app.inject(as(dave, { method: 'GET', url: `/api/v1/projects?q=${'a'.repeat(201)}` }))).statusCode).toBe(400)
  })

  it('search combines with sort and paging', async () => {
    const all = await walk(dave, `q=${encodeURIComponent('bac')}&sort=name`, 1)
    expect(all.map((p) => p.name)).toEqual(['Backend API', 'Ops'])
  })

  it('role and ownerId filter the list', async () => {
    const shared = await create(alice, { name: 'Shared with dave' })
    const add = await t.app.inject(as(alice, { method: 'POST', url: `/api/v1/projects/${shared.id}/members`, payload: { userId: dave.id, role: 'viewer' } }))
    expect(add.statusCode, add.body).toBe(201)
    const viewer = await list(dave, 'role=viewer&limit=100')
    expect(viewer.items.map((p) => [p.id, p.role])).toEqual([[shared.id, 'viewer']])
    expect((await list(dave, 'role=owner&limit=100')).items.map((p) => p.id).sort()).toEqual(Object.values(ids).sort())
    expect((await list(dave, `ownerId=${alice.id}&limit=100`)).items.map((p) => p.id)).toEqual([shared.id])
    expect((await list(dave, 'role=editor')).items).toEqual([])
    expect((await t.app.inject(as(dave, { method: 'GET', url: '/api/v1/projects?role=admin' }))).statusCode).toBe(400)
    expect((await t.app.inject(as(dave, { method: 'GET', url: '/api/v1/projects?ownerId=nope' }))).statusCode).toBe(400)
  })
})
