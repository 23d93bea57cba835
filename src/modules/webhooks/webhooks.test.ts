import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { makeMember, makeProject } from '../../../test/helpers/work.ts'
import { newId } from '../../lib/ids.ts'

let t: TestApp
let owner: TestUser
let editor: TestUser
let stranger: TestUser
let admin: TestUser
let projectId: string
const secrets: string[] = []

const URL_OK = 'https://hooks.example.com/in'

async function createHook (user: TestUser, project = projectId, body: Record<string, unknown> = {}) {
  const res = await t.app.inject(as(user, { method: 'POST', url: `/api/v1/projects/${project}/webhooks`, payload: { url: URL_OK, eventTypes: ['task.created'], ...body } }))
  if (res.statusCode !== 201) throw new Error(`webhook create failed: ${res.statusCode} ${res.body}`)
  const created = res.json() as { id: string, secret: string, [key: string]: unknown }
  secrets.push(created.secret)
  return created
}

async function testDelivery (hookId: string): Promise<string> {
  const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/webhooks/${hookId}/test` }))
  expect(res.statusCode).toBe(202)
  return (res.json() as { id: string }).id
}

async function stored (id: string): Promise<string | undefined> {
  const { rows } = await t.app.dbPool.query('SELECT row_to_json(x)::text AS row FROM webhooks x WHERE id = $1', [id])
  return rows[0]?.row as string | undefined
}

beforeAll(async () => {
  t = await createTestApp({ env: { WEBHOOKS_MAX_PER_PROJECT: '4' } })
  scanResponses(t.app)
  // Offline: every name resolves to one public address.
  t.app.webhooks.setResolver(async () => [{ address: '93.184.215.14', family: 4 }])
  owner = await makeUser(t.app)
  stranger = await makeUser(t.app)
  admin = await makeUser(t.app, { roles: ['admin'] })
  projectId = await makeProject(t.app, owner)
  editor = await makeMember(t.app, owner, projectId, 'editor')
  await makeMember(t.app, owner, projectId, 'viewer')
})
afterAll(async () => { await t.close() })

interface Route { name: string, need: 'editor' | 'owner', status: number, options: (hook: string, project: string, delivery: string) => InjectOptions }

const routes: Route[] = [
  { name: 'list', need: 'editor', status: 200, options: (_h, project) => ({ method: 'GET', url: `/api/v1/projects/${project}/webhooks` }) },
  { name: 'create', need: 'owner', status: 201, options: (_h, project) => ({ method: 'POST', url: `/api/v1/projects/${project}/webhooks`, payload: { url: URL_OK, eventTypes: ['*'] } }) },
  { name: 'get', need: 'editor', status: 200, options: (hook) => ({ method: 'GET', url: `/api/v1/webhooks/${hook}` }) },
  { name: 'update', need: 'owner', status: 200, options: (hook) => ({ method: 'PATCH', url: `/api/v1/webhooks/${hook}`, payload: { description: 'changed' } }) },
  { name: 'rotate', need: 'owner', status: 200, options: (hook) => ({ method: 'POST', url: `/api/v1/webhooks/${hook}/rotate-secret` }) },
  { name: 'deliveries', need: 'editor', status: 200, options: (hook) => ({ method: 'GET', url: `/api/v1/webhooks/${hook}/deliveries` }) },
  { name: 'redeliver', need: 'owner', status: 202, options: (hook, _p, delivery) => ({ method: 'POST', url: `/api/v1/webhooks/${hook}/deliveries/${delivery}/redeliver` }) },
  { name: 'test', need: 'owner', status: 202, options: (hook) => ({ method: 'POST', url: `/api/v1/webhooks/${hook}/test` }) },
  { name: 'delete', need: 'owner', status: 204, options: (hook) => ({ method: 'DELETE', url: `/api/v1/webhooks/${hook}` }) }
]
const projectRoute = (r: Route) => r.name === 'list' || r.name === 'create'
const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined, instance: undefined })

describe('access table', () => {
  // Each case makes its own endpoint in a project of its own, so the per-project cap never interferes.
  async function fixture () {
    const project = await makeProject(t.app, owner)
    const hook = await createHook(owner, project)
    return { project, hook: hook.id, delivery: await testDelivery(hook.id) }
  }

  it.each(routes)('anonymous $name → 401', async (route) => {
    const f = await fixture()
    const res = await t.app.inject(route.options(f.hook, f.project, f.delivery))
    expect(res.statusCode).toBe(401)
  })

  it.each(routes)('a non-member on $name → 404 with the body of a missing one, nothing changes', async (route) => {
    const f = await fixture()
    const before = await stored(f.hook)
    const foreign = await t.app.inject(as(stranger, route.options(f.hook, f.project, f.delivery)))
    const missing = await t.app.inject(as(stranger, route.options(newId(), newId(), newId())))
    expect(foreign.statusCode).toBe(404)
    expect(strip(foreign.json())).toEqual(strip(missing.json()))
    expect(foreign.json().code).toBe(projectRoute(route) ? 'PROJECT_NOT_FOUND' : 'WEBHOOK_NOT_FOUND')
    expect(await stored(f.hook)).toBe(before)
  })

  it.each(routes)('a viewer on $name → 403, an editor → $need rules', async (route) => {
    const f = await fixture()
    const before = await stored(f.hook)
    for (const [who, role] of [['viewer', 'viewer'], ['editor', 'editor']] as const) {
      const member = await makeMember(t.app, owner, f.project, role)
      const res = await t.app.inject(as(member, route.options(f.hook, f.project, f.delivery)))
      const allowed = role === 'editor' && route.need === 'editor'
      expect(res.statusCode, `${who} ${route.name}`).toBe(allowed ? route.status : 403)
      if (!allowed) expect(res.json().code).toBe('PROJECT_ROLE_REQUIRED')
    }
    expect(await stored(f.hook)).toBe(before)
  })

  it.each(routes)('the owner and an admin (not a member) on $name → $status', async (route) => {
    for (const user of [owner, admin]) {
      const f = await fixture()
      const res = await t.app.inject(as(user, route.options(f.hook, f.project, f.delivery)))
      expect(res.statusCode, `${user === owner ? 'owner' : 'admin'} ${route.name}: ${res.body}`).toBe(route.status)
    }
  })
})

describe('endpoints', () => {
  it('creates an endpoint and shows its whsec_ secret once: never in get, list or the logs', async () => {
    const created = await createHook(owner, projectId, { description: 'CI', eventTypes: ['task.created', 'execution.completed'] })
    expect(created).toMatchObject({ projectId, url: URL_OK, description: 'CI', eventTypes: ['task.created', 'execution.completed'], enabled: true, disabledReason: null, consecutiveFailures: 0 })
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    const got = await t.app.inject(as(editor, { method: 'GET', url: `/api/v1/webhooks/${created.id}` }))
    const list = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/projects/${projectId}/webhooks` }))
    expect(got.statusCode).toBe(200)
    expect(got.json()).not.toHaveProperty('secret')
    expect(list.json().items.map((h: { id: string }) => h.id)).toContain(created.id)
    for (const body of [got.body, list.body]) expect(body).not.toContain(created.secret.slice(6))
    // Sealed at rest: the stored row holds neither the secret nor its key bytes.
    const row = await stored(created.id)
    expect(row).not.toContain(created.secret.slice(6))
    expect(row).toMatch(/"secret_sealed":"v1\./)
  })

  it('rotates the secret: a new one shown once, the previous one signing for 24 h', async () => {
    const created = await createHook(owner)
    const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/webhooks/${created.id}/rotate-secret` }))
    expect(res.statusCode).toBe(200)
    const rotated = res.json() as { secret: string, previousSecretExpiresAt: string }
    secrets.push(rotated.secret)
    expect(rotated.secret).toMatch(/^whsec_/)
    expect(rotated.secret).not.toBe(created.secret)
    const overlap = Date.parse(rotated.previousSecretExpiresAt) - Date.now()
    expect(overlap).toBeGreaterThan(23.9 * 3600_000)
    expect(overlap).toBeLessThanOrEqual(24 * 3600_000)
  })

  it('updates fields; disabling records why, enabling clears it', async () => {
    const { id } = await createHook(owner)
    const patch = (payload: Record<string, unknown>) => t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/webhooks/${id}`, payload }))
    expect((await patch({ eventTypes: ['*'], url: 'https://other.example.com/hook' })).json()).toMatchObject({ eventTypes: ['*'], url: 'https://other.example.com/hook' })
    const off = (await patch({ enabled: false })).json()
    expect(off).toMatchObject({ enabled: false, disabledReason: 'Disabled by a project owner' })
    expect(off.disabledAt).not.toBeNull()
    const test = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/webhooks/${id}/test` }))
    expect(test.statusCode).toBe(409)
    expect(test.json().code).toBe('WEBHOOK_DISABLED')
    expect((await patch({ enabled: true })).json()).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null })
  })

  it('deletes an endpoint with its delivery log', async () => {
    const { id } = await createHook(owner)
    await testDelivery(id)
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/webhooks/${id}` }))).statusCode).toBe(204)
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${id}` }))).statusCode).toBe(404)
    const { rows } = await t.app.dbPool.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1', [id])
    expect(rows[0].n).toBe(0)
  })

  it('caps the endpoints of a project (409), counting under concurrent creates', async () => {
    const project = await makeProject(t.app, owner)
    const results = await Promise.all(Array.from({ length: 6 }, () =>
      t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${project}/webhooks`, payload: { url: URL_OK, eventTypes: ['*'] } }))))
    for (const r of results) if (r.statusCode === 201) secrets.push(r.json().secret)
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(4)
    expect(results.filter((r) => r.statusCode === 409).map((r) => r.json().code)).toEqual(['WEBHOOK_LIMIT', 'WEBHOOK_LIMIT'])
  })

  it('pages endpoints and deliveries with cursors, and filters deliveries by status', async () => {
    const project = await makeProject(t.app, owner)
    const ids = [(await createHook(owner, project)).id, (await createHook(owner, project)).id, (await createHook(owner, project)).id]
    const first = (await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/projects/${project}/webhooks?limit=2` }))).json()
    const second = (await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/projects/${project}/webhooks?limit=2&cursor=${first.nextCursor}` }))).json()
    expect([...first.items, ...second.items].map((h: { id: string }) => h.id).sort()).toEqual([...ids].sort())
    expect(second.nextCursor).toBeNull()
    const made = [await testDelivery(ids[0]!), await testDelivery(ids[0]!), await testDelivery(ids[0]!)]
    const page = (q: string) => t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${ids[0]}/deliveries?${q}` }))
    const p1 = (await page('limit=2')).json()
    const p2 = (await page(`limit=2&cursor=${p1.nextCursor}`)).json()
    expect([...p1.items, ...p2.items].map((d: { id: string }) => d.id)).toEqual([...made].reverse())
    expect(p1.items[0]).toMatchObject({ eventType: 'webhook.test', status: 'pending', attempts: 0, maxAttempts: 8, lastStatusCode: null })
    expect((await page('status=pending')).json().items).toHaveLength(3)
    expect((await page('status=succeeded')).json().items).toHaveLength(0)
    expect((await page('status=bogus')).statusCode).toBe(400)
    expect((await page('cursor=nope')).statusCode).toBe(400)
  })
})

describe('validation', () => {
  it.each([
    ['an unknown field (secret)', { url: URL_OK, eventTypes: ['*'], secret: 'whsec_mine' }],
    ['a server-owned field', { url: URL_OK, eventTypes: ['*'], consecutiveFailures: 0 }],
    ['a foreign projectId', { url: URL_OK, eventTypes: ['*'], projectId: newId() }],
    ['no event types', { url: URL_OK, eventTypes: [] }],
    ['an upper-case type', { url: URL_OK, eventTypes: ['Task.Created'] }],
    ['a malformed type', { url: URL_OK, eventTypes: ['task..created'] }],
    ['a wildcard suffix', { url: URL_OK, eventTypes: ['task.*'] }],
    ['duplicate types', { url: URL_OK, eventTypes: ['task.created', 'task.created'] }],
    ['51 types', { url: URL_OK, eventTypes: Array.from({ length: 51 }, (_, i) => `t.${'x'.repeat(i + 1)}`) }],
    ['a 2049-character URL', { url: `https://a.example/${'x'.repeat(2040)}`, eventTypes: ['*'] }],
    ['a 501-character description', { url: URL_OK, eventTypes: ['*'], description: 'x'.repeat(501) }],
    ['a URL with credentials', { url: 'https://user:pw@hooks.example.com/', eventTypes: ['*'] }]
  ])('refuses %s with 400', async (_name, payload) => {
    const res = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/webhooks`, payload }))
    expect(res.statusCode).toBe(400)
  })

  it('refuses an empty PATCH and a URL change to a blocked target', async () => {
    const { id } = await createHook(owner)
    expect((await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/webhooks/${id}`, payload: {} }))).statusCode).toBe(400)
    const res = await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/webhooks/${id}`, payload: { url: 'http://169.254.169.254/latest' } }))
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'WEBHOOK_URL_REFUSED', errors: [{ path: 'body.url' }] })
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${id}` }))).json().url).toBe(URL_OK)
  })

  it('never logged a secret', () => {
    expect(secrets.length).toBeGreaterThan(10)
    const logs = t.logs.text()
    for (const s of secrets) expect(logs).not.toContain(s.slice(6))
  })
})
