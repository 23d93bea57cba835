// OpenTelemetry end to end: a real `backplane start` exporting to an in-process OTLP/HTTP JSON
// receiver. One request that creates a task gives one trace through HTTP, SQL, the outbox relay,
// the webhook job and the webhook's POST (whose traceparent the receiver sees); a scheduled run's
// trace goes from the scheduler to the agent's claim and completion; log lines carry the ids.
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { strongPassword, uniqueEmail } from '../helpers/auth.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts'
import { spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'
import { startReceiver, type Receiver } from './webhooks-receiver.ts'

const SERVER = 2
const CLIENT = 3
let otlp: OtlpReceiver
let hooks: Receiver
let db: TestDatabase
let bp: BackplaneProcess
let token: string
let projectId: string

async function api<T = Record<string, unknown>> (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${bp.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return (res.status === 204 ? {} : await res.json()) as T
}

const traceOf = (traceId: string) => otlp.spans.filter((s) => s.traceId === traceId)

/** ancestors walks a span's parents inside its trace, nearest first. */
function ancestors (span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const out: ReceivedSpan[] = []
  let parent = spans.find((s) => s.spanId === span.parentSpanId)
  while (parent) {
    out.push(parent)
    const next = parent.parentSpanId
    parent = spans.find((s) => s.spanId === next)
  }
  return out
}

function one (spans: ReceivedSpan[], test: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.find(test)
  if (!found) throw new Error(`no ${what} among ${spans.map((s) => s.name).join(', ')}`)
  return found
}

beforeAll(async () => {
  otlp = await startOtlpReceiver()
  hooks = await startReceiver()
  db = await createTestDatabase()
  bp = await spawnBackplane({
    DATABASE_URL: db.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_SERVICE_NAME: 'backplane-test',
    HOST: '0.0.0.0',
    WEBHOOKS_ALLOW_PRIVATE: 'true',
    SCHEDULER_INTERVAL_MS: '200',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000'
  }, ['src/main.ts', 'start'], 60_000)
  const email = uniqueEmail()
  const password = strongPassword()
  await fetch(`${bp.url}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  const login = await fetch(`${bp.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  token = ((await login.json()) as { accessToken: string }).accessToken
  projectId = (await api<{ id: string }>('POST', '/projects', { name: 'traced' })).id
  await api('POST', `/projects/${projectId}/webhooks`, { url: `${hooks.url}/hook`, eventTypes: ['task.created'] })
}, 90_000)

afterAll(async () => {
  bp?.child.kill('SIGTERM')
  await bp?.exited
  await Promise.all([otlp?.close(), hooks?.close(), db?.drop()])
})

describe('a request that creates a task and triggers a webhook', () => {
  it('is one trace: HTTP, SQL, the outbox relay, the job and the webhook send, with the right parents; the receiver gets its traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const task = await api<{ id: string }>('POST', `/projects/${projectId}/tasks`, { name: 'traced task', schedule: null }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` })
    const delivery = await vi.waitFor(() => {
      const got = hooks.requests.find((r) => r.body.includes(task.id))
      if (!got) throw new Error('no delivery yet')
      return got
    }, { timeout: 20_000, interval: 100 })
    const sent = String(delivery.headers.traceparent)
    expect(sent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))

    const spans = await vi.waitFor(() => {
      const all = traceOf(traceId)
      // Spans are exported as they end, in batches: the job's ends after the send inside it.
      if (!all.some((s) => s.kind === CLIENT && s.spanId === sent.split('-')[2])) throw new Error('the webhook send is not exported yet')
      if (!all.some((s) => s.name === 'job webhooks.deliver')) throw new Error('the job span is not exported yet')
      return all
    }, { timeout: 20_000, interval: 100 })
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['backplane-test']))

    const http = one(spans, (s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/projects/:id/tasks', 'HTTP server span')
    expect(http.parentSpanId).toBe('00f067aa0ba902b7')
    const insert = one(spans, (s) => s.name.startsWith('pg.query') && String(s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? '').includes('insert into "outbox"'), 'outbox INSERT')
    expect(ancestors(insert, spans)).toContain(http)
    const publish = one(spans, (s) => s.name === 'event task.created publish', 'outbox relay span')
    expect(ancestors(publish, spans)).toContain(http)
    const job = one(spans, (s) => s.name === 'job webhooks.deliver', 'job span')
    expect(ancestors(job, spans)).toContain(publish)
    const send = one(spans, (s) => s.kind === CLIENT && s.spanId === sent.split('-')[2], 'webhook POST span')
    expect(send.parentSpanId === job.spanId || ancestors(send, spans).includes(job)).toBe(true)
    expect(send.attributes['http.request.method'] ?? send.attributes['http.method']).toBe('POST')

    // The request's own log line carries the trace.
    const line = bp.output().split('\n').find((l) => l.includes('"msg":"request"') && l.includes('"method":"POST"') && l.includes(traceId))
    expect(line, 'the request log line carries trace_id').toBeDefined()
    expect(JSON.parse(line!)).toMatchObject({ trace_id: traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) })
  }, 60_000)

  it('ignores a traceparent from a caller that is neither loopback nor in TRUST_PROXY', async () => {
    const external = (await import('node:os')).networkInterfaces()
    const address = Object.values(external).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address
    if (!address) throw new Error('this test needs a non-loopback IPv4 address on the machine')
    const traceId = '11111111111111111111111111111111'
    const port = new URL(bp.url).port
    const res = await fetch(`http://${address}:${port}/api/v1/projects/${projectId}/tasks`, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-2222222222222222-01` } })
    expect(res.status).toBe(200)
    await vi.waitFor(() => {
      expect(otlp.spans.some((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/projects/:id/tasks' && (s.attributes['client.address'] ?? s.attributes['network.peer.address']) === address)).toBe(true)
    }, { timeout: 10_000, interval: 100 })
    expect(traceOf(traceId)).toEqual([])
  }, 30_000)
})

describe('a scheduled run', () => {
  it('has one trace from the scheduler through the fire job to the agent’s claim and completion', async () => {
    const agent = await api<{ id: string, apiKey: string }>('POST', '/agents', { name: 'tracer', projectId })
    const task = await api<{ id: string }>('POST', `/projects/${projectId}/tasks`, { name: 'every minute', schedule: '* * * * *' })
    // Due now instead of at the next minute: the scheduler fires it on its next tick.
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try { await client.query("UPDATE tasks SET next_run_at = now() - interval '1 second' WHERE id = $1", [task.id]) } finally { await client.end() }
    const agentApi = (path: string, body?: unknown, headers: Record<string, string> = {}) => fetch(`${bp.url}/api/v1${path}`, { method: 'POST', headers: { 'x-api-key': agent.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
    const [claimed, traceparent] = await vi.waitFor(async () => {
      const res = await agentApi('/agents/me/claim?wait=1')
      if (res.status !== 200) throw new Error(`claim gave ${res.status}`)
      return [await res.json() as { id: string }, res.headers.get('traceparent') ?? ''] as const
    }, { timeout: 20_000, interval: 100 })
    // The claim reply names the run's trace; the agent sends it back with its completion (as examples/agent.sh does).
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect((await agentApi(`/executions/${claimed.id}/complete`, { result: { ok: true } }, { traceparent })).status).toBe(200)

    const spans = await vi.waitFor(() => {
      const complete = otlp.spans.find((s) => s.name === 'execution complete' && s.attributes['backplane.execution.id'] === claimed.id)
      if (!complete) throw new Error('no completion span yet')
      // The completion request's own span ends after the reply, and may come in a later export.
      const all = traceOf(complete.traceId)
      if (!all.some((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/executions/:id/complete')) throw new Error('no completion request span yet')
      return all
    }, { timeout: 20_000, interval: 100 })
    const fire = one(spans, (s) => s.name === 'scheduler fire' && s.attributes['backplane.task.id'] === task.id, 'scheduler span')
    expect(fire.parentSpanId).toBe('')
    const job = one(spans, (s) => s.name === 'job tasks.fire', 'fire job span')
    expect(ancestors(job, spans)).toContain(fire)
    const claim = one(spans, (s) => s.name === 'execution claim', 'claim span')
    const complete = one(spans, (s) => s.name === 'execution complete', 'completion span')
    expect(ancestors(claim, spans)).toContain(job)
    expect(ancestors(complete, spans)).toContain(job)
    // Each is linked to the agent's own request, which is a trace of its own.
    expect(claim.links).toHaveLength(1)
    const request = traceOf(claim.links[0]!.traceId)
    expect(request.some((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/agents/me/claim')).toBe(true)
    expect(fire.traceId).toBe(traceparent.split('-')[1])
    // The completion request itself, sent with that traceparent, is in the run's trace.
    const report = one(spans, (s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/executions/:id/complete', 'the completion request')
    expect(report.parentSpanId).toBe(traceparent.split('-')[2])
  }, 60_000)
})

describe('without an endpoint', () => {
  async function modulesLoaded (env: Record<string, string>): Promise<string[]> {
    const file = `${tmpdir()}/backplane-loads-${process.pid}-${Date.now()}.json`
    const other = await createTestDatabase()
    try {
      const node = await spawnBackplane({ DATABASE_URL: other.url, RECORD_LOADS_FILE: file, ...env }, ['--import', './test/fixtures/record-loads.mjs', 'src/main.ts', 'start'], 60_000)
      // One request through the whole stack (auth, SQL, the log line) before stopping.
      expect((await fetch(`${node.url}/api/v1/instance`)).status).toBe(200)
      node.child.kill('SIGTERM')
      await node.exited
      const { loaded, cache } = JSON.parse(await readFile(file, 'utf8')) as { loaded: string[], cache: string[] }
      expect(loaded.length).toBeGreaterThan(100)
      // prom-client (a dependency from before tracing) requires the no-op @opentelemetry/api for its
      // exemplars; everything else of OpenTelemetry — SDK, exporters, instrumentations, loader hooks — must stay out.
      return [...loaded, ...cache].filter((m) => /@opentelemetry|@fastify\/otel|import-in-the-middle|require-in-the-middle/.test(m) && !m.includes('/node_modules/@opentelemetry/api/'))
    } finally {
      await other.drop()
      await rm(file, { force: true })
    }
  }

  it('loads no OpenTelemetry SDK, exporter, instrumentation or loader hook (and does with one: the check sees them)', async () => {
    expect(await modulesLoaded({})).toEqual([])
    expect(await modulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_TRACES_EXPORTER: 'none' })).toEqual([])
    expect((await modulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).some((m) => m.includes('@opentelemetry/sdk-node'))).toBe(true)
  }, 120_000)
})
