import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { makeProject, makeTask } from '../helpers/work.ts'
import { scanResponses } from '../helpers/leaks.ts'

// SECURITY.md FZ-02: create → get → update → delete, then every operation on the deleted resource
// (its own and its children's) is a 404 and lists leave it out; no operation works without, or with
// wrong, credentials; another user gets a 404.
const URL_OK = 'https://hooks.example.com/in'

type Request = Pick<InjectOptions, 'method' | 'url' | 'payload'>

/** A Lifecycle is one resource kind: how to make one, and what must stop working once it is deleted. */
interface Lifecycle {
  kind: string
  create: () => Promise<string>
  get: (id: string) => Request
  update: (id: string) => Request
  remove: (id: string) => Request
  /** after lists the operations that must answer 404 once the resource is gone. */
  after: (id: string) => Request[]
  /** list is where the resource shows while it exists. */
  list: () => Request
  /** revokes marks a kind whose DELETE revokes (README: kept, shown with revokedAt, for the audit trail) rather than deletes. */
  revokes?: boolean
}

let t: TestApp
let owner: TestUser
let stranger: TestUser
let project: string
const scanned = { count: () => 0 }

beforeAll(async () => {
  t = await createTestApp()
  t.app.webhooks.setResolver(async () => [{ address: '93.184.215.14', family: 4 }])
  Object.assign(scanned, scanResponses(t.app))
  owner = await makeUser(t.app)
  stranger = await makeUser(t.app)
  project = await makeProject(t.app, owner)
}, 60_000)
afterAll(async () => { await t?.close() })

const send = (who: TestUser | undefined, req: Request): Promise<LightMyRequestResponse> => t.app.inject(who ? as(who, req) : req)

const lifecycles: Lifecycle[] = [
  {
    kind: 'project',
    create: () => makeProject(t.app, owner, 'Doomed'),
    get: (id) => ({ method: 'GET', url: `/api/v1/projects/${id}` }),
    update: (id) => ({ method: 'PATCH', url: `/api/v1/projects/${id}`, payload: { name: 'Renamed' } }),
    remove: (id) => ({ method: 'DELETE', url: `/api/v1/projects/${id}` }),
    after: (id) => [
      { method: 'GET', url: `/api/v1/projects/${id}/members` },
      { method: 'GET', url: `/api/v1/projects/${id}/tasks` },
      { method: 'POST', url: `/api/v1/projects/${id}/tasks`, payload: { name: 'late' } },
      { method: 'GET', url: `/api/v1/projects/${id}/webhooks` },
      { method: 'POST', url: `/api/v1/projects/${id}/webhooks`, payload: { url: URL_OK, eventTypes: ['*'] } }
    ],
    list: () => ({ method: 'GET', url: '/api/v1/projects?limit=100' })
  },
  {
    kind: 'task',
    create: async () => (await makeTask(t.app, owner, project, { schedule: '*/5 * * * *' })).id,
    get: (id) => ({ method: 'GET', url: `/api/v1/tasks/${id}` }),
    update: (id) => ({ method: 'PATCH', url: `/api/v1/tasks/${id}`, payload: { description: 'changed' } }),
    remove: (id) => ({ method: 'DELETE', url: `/api/v1/tasks/${id}` }),
    after: (id) => [
      { method: 'POST', url: `/api/v1/tasks/${id}/run` },
      { method: 'POST', url: `/api/v1/tasks/${id}/pause` },
      { method: 'POST', url: `/api/v1/tasks/${id}/resume` }
    ],
    list: () => ({ method: 'GET', url: `/api/v1/projects/${project}/tasks?limit=100` })
  },
  {
    kind: 'webhook',
    create: async () => {
      const res = await send(owner, { method: 'POST', url: `/api/v1/projects/${project}/webhooks`, payload: { url: URL_OK, eventTypes: ['*'] } })
      expect(res.statusCode, res.body).toBe(201)
      return (res.json() as { id: string }).id
    },
    get: (id) => ({ method: 'GET', url: `/api/v1/webhooks/${id}` }),
    update: (id) => ({ method: 'PATCH', url: `/api/v1/webhooks/${id}`, payload: { description: 'changed' } }),
    remove: (id) => ({ method: 'DELETE', url: `/api/v1/webhooks/${id}` }),
    after: (id) => [
      { method: 'POST', url: `/api/v1/webhooks/${id}/rotate-secret` },
      { method: 'POST', url: `/api/v1/webhooks/${id}/test` },
      { method: 'GET', url: `/api/v1/webhooks/${id}/deliveries` }
    ],
    list: () => ({ method: 'GET', url: `/api/v1/projects/${project}/webhooks?limit=100` })
  },
  {
    kind: 'api key',
    create: async () => {
      const res = await send(owner, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'doomed', scopes: ['project:read'] } })
      expect(res.statusCode, res.body).toBe(201)
      return (res.json() as { id: string }).id
    },
    get: (id) => ({ method: 'GET', url: `/api/v1/api-keys/${id}` }),
    // API keys have no PATCH: a rotation is their update, and it gives the key a new id.
    update: (id) => ({ method: 'GET', url: `/api/v1/api-keys/${id}` }),
    remove: (id) => ({ method: 'DELETE', url: `/api/v1/api-keys/${id}` }),
    after: (id) => [{ method: 'POST', url: `/api/v1/api-keys/${id}/rotate` }],
    list: () => ({ method: 'GET', url: '/api/v1/api-keys?limit=100' }),
    revokes: true
  }
]

const listed = async (req: Request, id: string): Promise<boolean> => {
  const res = await send(owner, req)
  expect(res.statusCode, res.body).toBe(200)
  return (res.json() as { items: Array<{ id: string }> }).items.some((item) => item.id === id)
}

describe('stateful checks (FZ-02)', () => {
  for (const life of lifecycles) {
    it(`${life.kind}: create → get → update → delete, then 404 everywhere and gone from the list`, async () => {
      const id = await life.create()
      expect((await send(owner, life.get(id))).statusCode).toBe(200)
      expect(await listed(life.list(), id)).toBe(true)
      expect((await send(owner, life.update(id))).statusCode).toBe(200)
      // Another user learns nothing: the same 404 as for an id that never existed.
      for (const req of [life.get(id), life.update(id), life.remove(id), ...life.after(id)]) {
        const res = await send(stranger, req)
        expect(res.statusCode, `${req.method} ${req.url} as a stranger`).toBe(404)
      }
      expect((await send(owner, life.remove(id))).statusCode).toBe(204)
      if (life.revokes) {
        // Revoked, not deleted: still shown, revoking again is harmless, nothing else works on it.
        expect((await send(owner, life.get(id))).json()).toMatchObject({ id, revokedAt: expect.any(String) })
        expect((await send(owner, life.remove(id))).statusCode).toBe(204)
        for (const req of life.after(id)) {
          const res = await send(owner, req)
          expect(res.statusCode, `${req.method} ${req.url} after revoke: ${res.body}`).toBeGreaterThanOrEqual(400)
          expect(res.statusCode).toBeLessThan(500)
        }
        return
      }
      for (const req of [life.get(id), life.update(id), life.remove(id), ...life.after(id)]) {
        const res = await send(owner, req)
        expect(res.statusCode, `${req.method} ${req.url} after delete: ${res.body}`).toBe(404)
        expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      }
      expect(await listed(life.list(), id)).toBe(false)
    })

    it(`${life.kind}: no operation works without credentials or with wrong ones`, async () => {
      const id = await life.create()
      const wrong = [undefined, { authorization: 'Bearer not.a.jwt' }, { authorization: 'Basic YTpi' }, { 'x-api-key': 'bp_nope_0000000000000000' }]
      for (const req of [life.get(id), life.update(id), life.remove(id), life.list(), ...life.after(id)]) {
        for (const headers of wrong) {
          const res = await t.app.inject({ ...req, ...(headers ? { headers } : {}) })
          expect(res.statusCode, `${req.method} ${req.url} with ${JSON.stringify(headers)}`).toBe(401)
        }
      }
      // Nothing happened to it.
      expect((await send(owner, life.get(id))).statusCode).toBe(200)
    })
  }

  it('a deleted API key no longer authenticates', async () => {
    const created = (await send(owner, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'gone', scopes: ['project:read'] } })).json() as { id: string, key: string }
    const before = await t.app.inject({ method: 'GET', url: '/api/v1/projects', headers: { 'x-api-key': created.key } })
    expect(before.statusCode).toBe(200)
    expect((await send(owner, { method: 'DELETE', url: `/api/v1/api-keys/${created.id}` })).statusCode).toBe(204)
    const after = await t.app.inject({ method: 'GET', url: '/api/v1/projects', headers: { 'x-api-key': created.key } })
    expect(after.statusCode).toBe(401)
    // Every reply of this file went through the AZ-06 secret scan.
    expect(scanned.count()).toBeGreaterThan(50)
  })
})
