import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, strongPassword, type TestUser } from '../helpers/auth.ts'
import { addMember, asAgent, makeProject, makeTask, registerAgent, runNow, type TestAgent } from '../helpers/work.ts'
import { acceptsBody, acceptsText, operationsOf, Tally, violations, type Operation, type Parameter } from '../helpers/fuzz.ts'
import { deep, mutationArbitrary, uuidFormatEdges, validArbitrary, withUuidEdges, type BodyMutation, type Hints } from '../helpers/openapi-arbitraries.ts'

// SECURITY.md FZ-01 (and AZ-06 as the leak oracle): every operation of the app's own OpenAPI
// document, fed schema-driven valid and invalid inputs as anonymous, a user and an admin.
const SEED = 20261203
const RUNS = 8
const URL_OK = 'https://hooks.example.com/in'
const MALFORMED_IDS = ['not-a-uuid', '0', '-1', '1e309', '00000000-0000-0000-0000-00000000000g', 'a'.repeat(300), "'%20or%201=1%20--", '%00', '..%2F..%2Fetc', '%F0%9F%92%A5']
const FIELD_VALUES: unknown[] = ['a\u0000b', 'x'.repeat(70_000), '💥\u202e\ufeff', -1, 1e300, 2 ** 63, [], {}, null, deep(40)]
const NASTY_QUERY = ['a\u0000b', '1e9', '-1', '0', 'abc', '', '1e309', 'NaN', '0x10', 'null', '%00', 'x'.repeat(5000), 'eyJpZCI6Ii0xIn0', 'AAAA.BBBB', '💥']

const AGENT_OPERATION = /^\/api\/v1\/(agents\/me|executions\/\{id\}\/(progress|complete|fail))/

interface World { admin: TestUser, user: TestUser, other: TestUser, victim: TestUser, agent: TestAgent, pools: Record<string, string[]>, secrets: string[] }

async function post (app: FastifyInstance, who: TestUser, url: string, payload: object): Promise<Record<string, unknown>> {
  const res = await app.inject(as(who, { method: 'POST', url, payload }))
  if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  return res.json() as Record<string, unknown>
}

/** makeWorld gives every path id something to point at: the user's own resources and another user's. */
async function makeWorld (app: FastifyInstance): Promise<World> {
  const [admin, user, other, victim] = await Promise.all([makeUser(app, { roles: ['admin'] }), makeUser(app), makeUser(app), makeUser(app)])
  const p = await makeProject(app, user)
  const p2 = await makeProject(app, other)
  await addMember(app, user, p, victim, 'viewer')
  const t = await makeTask(app, user, p)
  const t2 = await makeTask(app, other, p2)
  const w = await post(app, user, `/api/v1/projects/${p}/webhooks`, { url: URL_OK, eventTypes: ['*'] })
  const w2 = await post(app, other, `/api/v1/projects/${p2}/webhooks`, { url: URL_OK, eventTypes: ['*'] })
  const k = await post(app, user, '/api/v1/api-keys', { name: 'fz', scopes: ['project:read'] })
  const k2 = await post(app, other, '/api/v1/api-keys', { name: 'fz', scopes: ['project:read'] })
  const a = await registerAgent(app, user, { projectId: p })
  const a2 = await registerAgent(app, other, { projectId: p2 })
  // The agent the fuzzer speaks as stays out of the path pools, so no PATCH disables it.
  const self = await registerAgent(app, user, { projectId: p, name: 'fz-self' })
  const e = await runNow(app, user, t.id)
  const e2 = await runNow(app, other, t2.id)
  const f = await post(app, admin, '/api/v1/admin/frontends', { name: 'fz-front' })
  const pools: Record<string, string[]> = {
    '/api/v1/projects/': [p, p2],
    '/api/v1/tasks/': [t.id, t2.id],
    '/api/v1/webhooks/': [String(w.id), String(w2.id)],
    '/api/v1/api-keys/': [String(k.id), String(k2.id)],
    '/api/v1/agents/': [a.id, a2.id],
    '/api/v1/executions/': [e, e2],
    '/api/v1/admin/users/': [victim.id],
    '/api/v1/admin/frontends/': [String((f.frontend as { id: string }).id)],
    '/api/v1/admin/queue/': ['executions', 'webhooks', 'no-such-queue'],
    userId: [victim.id, other.id],
    projectId: [p, p2],
    taskId: [t.id, t2.id],
    agentId: [a.id, a2.id]
  }
  const secrets = [admin, user, other, victim].map((u) => u.refreshToken)
    .concat([String(w.secret), String(w2.secret), String(k.key), String(k2.key), a.apiKey, a2.apiKey, self.apiKey])
  return { admin, user, other, victim, agent: self, pools, secrets }
}

function hintsFor (world: World): Hints {
  const ids = (name: string) => fc.constantFrom(...(world.pools[name] ?? []))
  return {
    schedule: fc.constantFrom(null, '*/5 * * * *', '@hourly', '0 3 * * 1'),
    timezone: fc.constantFrom('UTC', 'Europe/Paris'),
    url: fc.constant(URL_OK),
    eventTypes: fc.constantFrom(['*'], ['task.created', 'task.updated']),
    scopes: fc.constantFrom([], ['project:read'], ['project:read', 'project:update']),
    origins: fc.constantFrom([], ['https://app.example.test']),
    password: fc.constant(strongPassword()),
    newPassword: fc.constant(strongPassword()),
    wait: fc.constant(0),
    rateTier: fc.constantFrom('low', 'default', 'high'),
    roles: fc.constantFrom(['user'], ['user', 'admin']),
    cursor: fc.constant(undefined),
    projectId: withUuidEdges(ids('projectId')),
    taskId: withUuidEdges(ids('taskId')),
    agentId: fc.oneof(withUuidEdges(ids('agentId')), fc.constant(null)),
    userId: withUuidEdges(ids('userId')),
    ownerId: fc.constant(world.user.id),
    actorId: fc.constant(world.user.id)
  }
}

function pathIds (world: World, op: Operation, param: Parameter): fc.Arbitrary<string> {
  const prefix = Object.keys(world.pools).find((k) => k.startsWith('/') && op.path.startsWith(k) && op.path.indexOf(`{${param.name}}`) === k.length)
  const pool = (prefix ? world.pools[prefix] : world.pools[param.name]) ?? []
  const own = pool.length ? [{ weight: 8, arbitrary: fc.constantFrom(...pool) }] : []
  // Format edges of real ids (urn:uuid:, upper case, braces): parsers disagree on them, a 500 hides there.
  const edges = pool.length ? [{ weight: 1, arbitrary: fc.tuple(fc.constantFrom(...pool), fc.nat()).map(([id, i]) => uuidFormatEdges(id)[i % 7]!) }] : []
  return fc.oneof(...own, ...edges, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_IDS) })
}

/** A Case is one request to send, with whether the server's validation should accept it. */
interface Case { url: string, payload?: string, headers: Record<string, string>, valid: boolean, why: string }

function caseArbitrary (world: World, op: Operation, hints: Hints): fc.Arbitrary<Case> {
  const ids = fc.constantFrom(...(world.pools.projectId ?? []))
  const path = fc.record(Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, pathIds(world, op, p)])))
  const queryParams = op.parameters.filter((p) => p.in === 'query')
  const validQuery = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, validArbitrary(p.schema, hints, ids, p.name)])), { requiredKeys: [] })
  const query = fc.oneof(
    { weight: 3, arbitrary: validQuery.map((q) => ({ q: q as Record<string, unknown>, why: 'query' })) },
    { weight: 1, arbitrary: fc.tuple(validQuery, fc.constantFrom('limit', 'cursor', 'zz', ...queryParams.map((p) => p.name)), fc.constantFrom(...NASTY_QUERY)).map(([q, k, v]) => ({ q: { ...q, [k]: v }, why: `query ${k}=${v.slice(0, 20)}` })) },
    { weight: 1, arbitrary: fc.tuple(validQuery, fc.constantFrom('limit', ...queryParams.map((p) => p.name))).map(([q, k]) => ({ q: { ...q, [k]: ['1', '2'] }, why: `duplicate ${k}` })) }
  )
  const headers = fc.record(Object.fromEntries(op.parameters.filter((p) => p.in === 'header').map((p) => [p.name, validArbitrary(p.schema, hints, ids, p.name)])), { requiredKeys: [] })
  const validBody = op.body ? validArbitrary(op.body, hints, ids) : fc.constant(undefined)
  const body: fc.Arbitrary<BodyMutation> = op.body
    ? fc.oneof({ weight: 3, arbitrary: validBody.map((b) => ({ body: b, why: 'body' })) }, { weight: 2, arbitrary: mutationArbitrary(op.body, validBody) })
    : fc.constant({ body: undefined, why: '' })
  return fc.tuple(path, query, headers, body).map(([p, q, h, b]) => {
    let url = op.path
    for (const [k, v] of Object.entries(p)) url = url.replace(`{${k}}`, MALFORMED_IDS.includes(v) ? v : encodeURIComponent(v))
    const search = new URLSearchParams()
    for (const [k, v] of Object.entries(q.q)) for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) search.append(k, String(one))
    const qs = search.toString()
    const parsed: Record<string, unknown> = {}
    for (const k of new Set(search.keys())) { const all = search.getAll(k); parsed[k] = all.length > 1 ? all : all[0] }
    const headerValues = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]))
    let valid = acceptsText(op, 'path', Object.fromEntries(Object.entries(p).map(([k, v]) => [k, decodeURIComponent(v)]))) && acceptsText(op, 'query', parsed) && acceptsText(op, 'header', headerValues)
    let payload: string | undefined
    if (b.raw !== undefined) {
      payload = b.raw
      let value: unknown
      try { value = JSON.parse(b.raw) } catch { valid = false }
      if (/__proto__|constructor|nesting/.test(b.why)) valid = false
      else if (valid) valid = acceptsBody(op, value)
    } else if (b.body !== undefined || op.body) {
      payload = b.body === undefined ? undefined : JSON.stringify(b.body)
      valid = valid && (b.body !== undefined || !op.body) && acceptsBody(op, b.body)
    }
    const contentType: Record<string, string> = payload === undefined ? {} : { 'content-type': 'application/json' }
    return { url: qs ? `${url}?${qs}` : url, payload, headers: { ...headerValues, ...contentType }, valid, why: `${q.why}; ${b.why}` }
  })
}

/** ownerOf is the credential an operation is for: an agent's key, an admin, or a signed-in user. */
function ownerOf (op: Operation): 'agent' | 'admin' | 'user' {
  return AGENT_OPERATION.test(op.path) ? 'agent' : op.path.startsWith('/api/v1/admin/') ? 'admin' : 'user'
}

/** rank runs the operations that destroy resources or sessions after everything that needs them. */
function rank (op: Operation): number {
  if (/logout|\/sessions\/|\/me\/password|\/me\/email/.test(op.path)) return 4
  if (op.method === 'DELETE') return op.path === '/api/v1/projects/{id}' ? 3 : 2
  // A rotation replaces the credential (and for API keys the id) the other operations use.
  if (/\/rotate/.test(op.path)) return 1
  return 0
}

describe('schema-driven fuzzing of every operation (FZ-01)', () => {
  let t: TestApp
  let world: World
  let ops: Operation[]
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOKS_TIMEOUT_MS: '500' } })
    // Webhook URLs are checked against DNS; a public address keeps them valid without a network.
    t.app.webhooks.setResolver(async () => [{ address: '93.184.215.14', family: 4 }])
    world = await makeWorld(t.app)
    ops = operationsOf(t.app.swagger() as never).sort((a, b) => rank(a) - rank(b))
  }, 60_000)
  afterAll(async () => { await t?.close() })
  const credential = (identity: string, base: InjectOptions): InjectOptions =>
    identity === 'agent' ? asAgent(world.agent, base) : identity === 'user' ? as(world.user, base) : identity === 'admin' ? as(world.admin, base) : base

  // Every field of every operation, one at a time, gets each value that breaks naive code, sent by the
  // credential the operation is for: random sampling alone reaches each (field, value) pair rarely.
  it('answers every field set to a NUL, huge, negative, overflowing or wrongly typed value with a 4xx or a 2xx, never a 5xx', async () => {
    const hints = hintsFor(world)
    const found: string[] = []
    let sent = 0
    for (const [index, op] of ops.filter((o) => rank(o) === 0).entries()) {
      const owner = ownerOf(op)
      let url = op.path
      for (const p of op.parameters.filter((p) => p.in === 'path')) url = url.replace(`{${p.name}}`, fc.sample(pathIds(world, op, p), { seed: SEED, numRuns: 1 })[0] ?? '')
      const valid = op.body ? fc.sample(validArbitrary(op.body, hints, fc.constantFrom(...(world.pools.projectId ?? []))), { seed: SEED + index, numRuns: 1 })[0] as Record<string, unknown> : undefined
      const variants: Array<{ url: string, body?: unknown, why: string }> = []
      for (const key of Object.keys(op.body?.properties ?? {})) for (const v of FIELD_VALUES) variants.push({ url, body: { ...valid, [key]: v }, why: `${key}=${JSON.stringify(v).slice(0, 20)}` })
      // `wait` is a long poll: any accepted value (0x10 is 16) holds the request that many seconds.
      for (const p of op.parameters.filter((p) => p.in === 'query' && p.name !== 'wait')) for (const v of NASTY_QUERY) variants.push({ url: `${url}?${new URLSearchParams({ [p.name]: v })}`, body: valid, why: `${p.name}=${v.slice(0, 20)}` })
      for (const v of variants) {
        const base: InjectOptions = { method: op.method as InjectOptions['method'], url: v.url, ...(v.body === undefined ? {} : { payload: JSON.stringify(v.body), headers: { 'content-type': 'application/json' } }) }
        const res = await t.app.inject(credential(owner, base))
        sent++
        const accepted = acceptsBody(op, v.body) && acceptsText(op, 'query', Object.fromEntries(new URL(v.url, 'http://x').searchParams))
        found.push(...violations(op, { identity: owner, valid: accepted, text: `${v.url} ${JSON.stringify(v.body) ?? ''}`, why: v.why }, res, world.secrets))
      }
    }
    expect(found).toEqual([])
    expect(sent).toBeGreaterThan(500)
  }, 120_000)

  it('never answers 5xx, off-contract or leaking, and lets valid requests through', async () => {
    const hints = hintsFor(world)
    const found: string[] = []
    const tally = new Tally()
    const reached = new Set<string>()
    let sent = 0
    let invalid = 0
    for (const [index, op] of ops.entries()) {
      // Agent operations are also sent with the user's agent's key, the credential they are for.
      const identities = AGENT_OPERATION.test(op.path) ? ['anonymous', 'user', 'admin', 'agent'] as const : ['anonymous', 'user', 'admin'] as const
      const cases = fc.sample(caseArbitrary(world, op, hints), { seed: SEED + index, numRuns: RUNS * identities.length })
      for (const [i, kase] of cases.entries()) {
        const identity = identities[i % identities.length] ?? 'anonymous'
        const base: InjectOptions = { method: op.method as InjectOptions['method'], url: kase.url, headers: kase.headers, ...(kase.payload === undefined ? {} : { payload: kase.payload }) }
        const res = await t.app.inject(credential(identity, base))
        sent++
        if (!kase.valid) invalid++
        if (process.env.FUZZ_DEBUG && `${op.method} ${op.path}`.includes(process.env.FUZZ_DEBUG)) console.info(identity, kase.valid, kase.why, kase.url, res.statusCode, res.body.slice(0, 200))
        found.push(...violations(op, { identity, valid: kase.valid, text: `${kase.url} ${kase.payload ?? ''}`, why: kase.why }, res, world.secrets))
        if (res.statusCode < 300) reached.add(`${op.method} ${op.path}`)
        // A claimed execution is what progress, complete and fail are for.
        if (op.path === '/api/v1/agents/me/claim' && res.statusCode === 200) world.pools['/api/v1/executions/'] = [(res.json() as { id: string }).id]
        if (kase.valid && identity === ownerOf(op) && rank(op) === 0) tally.add(op.method === 'GET' ? 'read' : 'write', res.statusCode)
      }
    }
    expect(found).toEqual([])
    expect(sent).toBeGreaterThanOrEqual(ops.length * RUNS * 3)
    // Both halves of the contract were exercised: inputs the schema refuses and inputs it accepts.
    expect(invalid / sent).toBeGreaterThan(0.2)
    expect(invalid / sent).toBeLessThan(0.7)
    // The requests reached the services: most valid reads and a good share of valid writes succeed.
    console.info('fuzz: 2xx per class', tally.table(), `operations with a 2xx: ${reached.size}/${ops.length}`, `invalid: ${invalid}/${sent}`,
      'never 2xx:', ops.map((o) => `${o.method} ${o.path}`).filter((k) => !reached.has(k)))
    expect(tally.share('read'), JSON.stringify(tally.table())).toBeGreaterThan(0.5)
    expect(tally.share('write'), JSON.stringify(tally.table())).toBeGreaterThan(0.25)
    expect(reached.size / ops.length).toBeGreaterThan(0.6)
  }, 120_000)
})
