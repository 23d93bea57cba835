import { randomInt } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { newId } from '../../lib/ids.ts'

type Who = 'anonymous' | 'stranger' | 'viewer' | 'editor' | 'owner' | 'admin'
interface Fixture { id: string }

let t: TestApp
const people = {} as Record<Exclude<Who, 'anonymous'> | 'extra' | 'outsider', TestUser>

function send (who: Who, options: InjectOptions) {
  return t.app.inject(who === 'anonymous' ? options : as(people[who], options))
}

async function post (user: TestUser, url: string, payload: unknown) {
  const res = await t.app.inject(as(user, { method: 'POST', url, payload: payload as Record<string, unknown> }))
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}

// A fresh project per case: owner, editor, viewer and one more viewer ("extra") as members.
async function fixture (): Promise<Fixture> {
  const { id } = await post(people.owner, '/api/v1/projects', { name: 'Fixture', description: 'access table' })
  for (const [who, role] of [['editor', 'editor'], ['viewer', 'viewer'], ['extra', 'viewer']] as const) {
    await post(people.owner, `/api/v1/projects/${id}/members`, { userId: people[who].id, role })
  }
  return { id }
}

// The project's row and memberships as stored, to prove a refused request changed nothing.
async function snapshot (id: string): Promise<string> {
  const { rows } = await t.app.dbPool.query(
    "SELECT (SELECT row_to_json(p)::text FROM (SELECT id, name, description, owner_id, created_at, updated_at FROM projects WHERE id = $1) p) AS project, (SELECT string_agg(user_id || ':' || role, ',' ORDER BY user_id) FROM project_members WHERE project_id = $1) AS members",
    [id])
  return JSON.stringify(rows[0])
}

const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined, instance: undefined })

interface RouteCase { name: string, request: (f: Fixture) => InjectOptions, expect: Record<Who, number> }

const routes: RouteCase[] = [
  { name: 'create', request: () => ({ method: 'POST', url: '/api/v1/projects', payload: { name: 'new' } }), expect: { anonymous: 401, stranger: 201, viewer: 201, editor: 201, owner: 201, admin: 201 } },
  { name: 'list', request: () => ({ method: 'GET', url: '/api/v1/projects' }), expect: { anonymous: 401, stranger: 200, viewer: 200, editor: 200, owner: 200, admin: 200 } },
  { name: 'get', request: (f) => ({ method: 'GET', url: `/api/v1/projects/${f.id}` }), expect: { anonymous: 401, stranger: 404, viewer: 200, editor: 200, owner: 200, admin: 200 } },
  { name: 'update', request: (f) => ({ method: 'PATCH', url: `/api/v1/projects/${f.id}`, payload: { name: 'renamed' } }), expect: { anonymous: 401, stranger: 404, viewer: 403, editor: 200, owner: 200, admin: 200 } },
  { name: 'delete', request: (f) => ({ method: 'DELETE', url: `/api/v1/projects/${f.id}` }), expect: { anonymous: 401, stranger: 404, viewer: 403, editor: 403, owner: 204, admin: 204 } },
  { name: 'list members', request: (f) => ({ method: 'GET', url: `/api/v1/projects/${f.id}/members` }), expect: { anonymous: 401, stranger: 404, viewer: 200, editor: 200, owner: 200, admin: 200 } },
  {
    name: 'add member',
    request: (f) => ({ method: 'POST', url: `/api/v1/projects/${f.id}/members`, payload: { userId: people.outsider.id, role: 'viewer' } }),
    expect: { anonymous: 401, stranger: 404, viewer: 403, editor: 403, owner: 201, admin: 201 }
  },
  {
    name: 'change role',
    request: (f) => ({ method: 'PATCH', url: `/api/v1/projects/${f.id}/members/${people.extra.id}`, payload: { role: 'editor' } }),
    expect: { anonymous: 401, stranger: 404, viewer: 403, editor: 403, owner: 200, admin: 200 }
  },
  {
    name: 'remove member',
    request: (f) => ({ method: 'DELETE', url: `/api/v1/projects/${f.id}/members/${people.extra.id}` }),
    expect: { anonymous: 401, stranger: 404, viewer: 403, editor: 403, owner: 204, admin: 204 }
  }
]

const cases = routes.flatMap((route) => (Object.entries(route.expect) as Array<[Who, number]>).map(([who, status]) => ({ route, who, status, label: `${route.name} as ${who} → ${status}` })))

beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  for (const who of ['stranger', 'viewer', 'editor', 'owner', 'extra', 'outsider'] as const) people[who] = await makeUser(t.app)
  people.admin = await makeUser(t.app, { roles: ['admin'] })
})
afterAll(async () => { await t.close() })

describe('access table: every route × every caller', () => {
  it.each(cases)('$label', async ({ route, who, status }) => {
    const f = await fixture()
    const before = await snapshot(f.id)
    const res = await send(who, route.request(f))
    expect(res.statusCode, res.body).toBe(status)
    if (status >= 400) expect(await snapshot(f.id)).toBe(before)
    if (status === 401) expect(res.json().code).toBe('AUTH_REQUIRED')
    if (status === 403) expect(res.json().code).toBe('PROJECT_ROLE_REQUIRED')
    if (status === 404) {
      // Another user's project answers exactly like a project that does not exist.
      expect(res.json().code).toBe('PROJECT_NOT_FOUND')
      const missing = await send(who, route.request({ id: newId() }))
      expect(missing.statusCode).toBe(404)
      expect(strip(res.json())).toEqual(strip(missing.json()))
      expect(res.body).not.toContain('Fixture')
    }
  })

  it('a stranger never sees the project in a list, a search or a filter', async () => {
    const f = await fixture()
    for (const query of ['', 'q=Fixture', `ownerId=${people.owner.id}`, 'role=owner', 'sort=name']) {
      const res = await send('stranger', { method: 'GET', url: `/api/v1/projects?limit=100&${query}` })
      expect(res.json().items.map((p: { id: string }) => p.id)).not.toContain(f.id)
    }
  })

  it('an admin sees every project, with the role "admin" where not a member', async () => {
    const f = await fixture()
    const res = await send('admin', { method: 'GET', url: '/api/v1/projects?limit=100' })
    expect(res.json().items).toContainEqual(expect.objectContaining({ id: f.id, role: 'admin' }))
    expect((await send('admin', { method: 'GET', url: `/api/v1/projects/${f.id}` })).json().role).toBe('admin')
  })

  it.each([
    ['GET', '/api/v1/projects/not-a-uuid'],
    ['PATCH', "/api/v1/projects/1'%20OR%201=1"],
    ['DELETE', '/api/v1/projects/123'],
    ['GET', '/api/v1/projects/nope/members'],
    ['PATCH', `/api/v1/projects/${newId()}/members/nope`],
    ['DELETE', `/api/v1/projects/${newId()}/members/..%2F..`]
  ] as const)('a malformed id (%s %s) is a 400, not a lookup', async (method, url) => {
    const res = await send('owner', { method, url, payload: method === 'PATCH' ? { name: 'x', role: 'viewer' } : undefined })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
  })
})

describe('API keys act with their scopes and their owner\'s membership', () => {
  async function key (user: TestUser, scopes: string[]) {
    return (await post(user, '/api/v1/api-keys', { name: 'k', scopes })).key as string
  }

  it('a read-only key of the owner can read but not write (403 FORBIDDEN)', async () => {
    const f = await fixture()
    const headers = { 'x-api-key': await key(people.owner, ['project:read']) }
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/projects/${f.id}`, headers })).statusCode).toBe(200)
    const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/projects/${f.id}`, headers, payload: { name: 'x' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().code).toBe('FORBIDDEN')
  })

  it("a viewer's key with project:update still has only the viewer role; a stranger's key gets 404", async () => {
    const f = await fixture()
    const viewerKey = await key(people.viewer, ['project:read', 'project:update'])
    const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/projects/${f.id}`, headers: { 'x-api-key': viewerKey }, payload: { name: 'x' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().code).toBe('PROJECT_ROLE_REQUIRED')
    const strangerKey = await key(people.stranger, ['project:read'])
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/projects/${f.id}`, headers: { 'x-api-key': strangerKey } })).statusCode).toBe(404)
  })
})

describe('mass assignment (AZ-05)', () => {
  it.each([{ ownerId: 'OTHER' }, { id: 'NEW' }, { createdAt: '2000-01-01T00:00:00.000Z' }, { updatedAt: '2000-01-01T00:00:00.000Z' }, { role: 'owner' }, { search: 'x' }])(
    'POST and PATCH with %j are 400 and change nothing', async (extra) => {
      const f = await fixture()
      const fill = (v: unknown) => (v === 'OTHER' ? people.stranger.id : v === 'NEW' ? newId() : v)
      const field = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, fill(v)]))
      const count = async () => (await t.app.dbPool.query('SELECT count(*)::int AS n FROM projects')).rows[0].n as number
      const total = await count()
      const created = await send('owner', { method: 'POST', url: '/api/v1/projects', payload: { name: 'mass', ...field } })
      expect(created.statusCode).toBe(400)
      expect(created.json().errors[0].message).toBe('is not an allowed property')
      expect(await count()).toBe(total)
      const before = await snapshot(f.id)
      const patched = await send('owner', { method: 'PATCH', url: `/api/v1/projects/${f.id}`, payload: { name: 'mass', ...field } })
      expect(patched.statusCode).toBe(400)
      expect(await snapshot(f.id)).toBe(before)
    })

  it('a member body with extra fields or both email and userId is a 400', async () => {
    const f = await fixture()
    const before = await snapshot(f.id)
    for (const payload of [
      { userId: people.outsider.id, role: 'viewer', projectId: newId() },
      { userId: people.outsider.id, email: people.outsider.email, role: 'viewer' },
      { userId: people.outsider.id, role: 'admin' },
      { userId: people.outsider.id }
    ]) {
      const res = await send('owner', { method: 'POST', url: `/api/v1/projects/${f.id}/members`, payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
    }
    const patched = await send('owner', { method: 'PATCH', url: `/api/v1/projects/${f.id}/members/${people.extra.id}`, payload: { role: 'owner', userId: people.outsider.id } })
    expect(patched.statusCode).toBe(400)
    expect(await snapshot(f.id)).toBe(before)
  })
})

describe('AZ-03: lists, searches and cursors never cross users', () => {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'backend', 'backup', 'shared', 'secret']
  let a: TestUser
  let b: TestUser
  const owned: Record<'a' | 'b', Set<string>> = { a: new Set(), b: new Set() }
  const pick = () => words[randomInt(words.length)]!

  beforeAll(async () => {
    a = await makeUser(t.app)
    b = await makeUser(t.app)
    for (let i = 0; i < 14; i++) {
      for (const [name, user] of [['a', a], ['b', b]] as const) {
        owned[name].add((await post(user, '/api/v1/projects', { name: `${pick()} ${pick()}`, description: `${pick()} ${i}` })).id)
      }
    }
  })

  async function walkAll (user: TestUser, query: string): Promise<{ ids: string[], cursors: string[] }> {
    const ids: string[] = []
    const cursors: string[] = []
    let cursor: string | null = null
    do {
      const res = await t.app.inject(as(user, { method: 'GET', url: `/api/v1/projects?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}` }))
      expect(res.statusCode, res.body).toBe(200)
      const page = res.json() as { items: Array<{ id: string }>, nextCursor: string | null }
      ids.push(...page.items.map((p) => p.id))
      cursor = page.nextCursor
      if (cursor) cursors.push(cursor)
    } while (cursor)
    return { ids, cursors }
  }

  it('40 random list queries (sort × q × role × ownerId × page size) for either user hold none of the other\'s ids', async () => {
    for (let round = 0; round < 40; round++) {
      const [me, them] = round % 2 ? [a, b] : [b, a]
      const [mine, theirs] = round % 2 ? [owned.a, owned.b] : [owned.b, owned.a]
      const params = new URLSearchParams({ limit: String(1 + randomInt(6)), sort: ['createdAt', '-createdAt', 'name', '-name'][randomInt(4)]! })
      if (randomInt(2)) params.set('q', randomInt(2) ? pick() : pick().slice(0, 3))
      if (randomInt(3) === 0) params.set('role', 'owner')
      if (randomInt(4) === 0) params.set('ownerId', them.id)
      const { ids } = await walkAll(me, params.toString())
      expect(ids.filter((id) => theirs.has(id)), params.toString()).toEqual([])
      expect(new Set(ids).size).toBe(ids.length)
      for (const id of ids) expect(mine.has(id)).toBe(true)
      if (!params.has('q') && !params.has('ownerId')) expect(ids.length).toBe(mine.size)
    }
  })

  it("a cursor from the other user's list is refused (400) and never yields their projects", async () => {
    const { cursors } = await walkAll(b, 'limit=3&sort=name')
    expect(cursors.length).toBeGreaterThan(0)
    for (const cursor of cursors) {
      const res = await t.app.inject(as(a, { method: 'GET', url: `/api/v1/projects?limit=3&sort=name&cursor=${encodeURIComponent(cursor)}` }))
      expect(res.statusCode).toBe(400)
      expect(res.body).not.toMatch(new RegExp([...owned.b].join('|')))
    }
  })
})
