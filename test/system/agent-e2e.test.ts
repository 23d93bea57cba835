// The example agent (examples/agent.ts) as a real process against a real `backplane start`:
// it claims and runs work, and when it is killed mid-run nothing is lost: the run times out
// once its lease ends and its retry is done by the next agent.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { strongPassword, uniqueEmail } from '../helpers/auth.ts'
import { projectRoot, spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'

let dir: string
let bp: BackplaneProcess
let token: string
let projectId: string
let agentKey: string
const agents: ChildProcess[] = []

async function api<T = Record<string, unknown>> (method: string, path: string, body?: unknown): Promise<{ status: number, json: T }> {
  const res = await fetch(`${bp.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, json: (res.status === 204 ? {} : await res.json()) as T }
}

function startAgent (): { child: ChildProcess, output: () => string } {
  const child = spawn(process.execPath, ['examples/agent.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', BACKPLANE_URL: bp.url, BACKPLANE_AGENT_KEY: agentKey },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  agents.push(child)
  return { child, output: () => out }
}

async function execution (id: string) {
  return (await api<{ status: string, attempt: number, result: unknown, error: string | null }>('GET', `/executions/${id}`)).json
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backplane-agent-'))
  bp = await spawnBackplane({ DATA_DIR: dir, EXECUTION_LEASE_SECONDS: '5', SCHEDULER_INTERVAL_MS: '200', RATE_LIMIT_AUTH_PER_MINUTE: '1000' })
  const email = uniqueEmail()
  const password = strongPassword()
  await fetch(`${bp.url}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  const login = await fetch(`${bp.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  token = ((await login.json()) as { accessToken: string }).accessToken
  projectId = (await api<{ id: string }>('POST', '/projects', { name: 'e2e' })).json.id
  agentKey = (await api<{ apiKey: string }>('POST', '/agents', { name: 'example', projectId })).json.apiKey
}, 60_000)

afterAll(async () => {
  for (const a of agents) a.kill('SIGKILL')
  bp.child.kill('SIGTERM')
  await bp.exited
  await rm(dir, { recursive: true, force: true })
})

describe('the example agent', () => {
  it('claims a run, works on it and reports the result', async () => {
    const agent = startAgent()
    const task = (await api<{ id: string }>('POST', `/projects/${projectId}/tasks`, { name: 'echo', schedule: null, payload: { echo: 'hello' } })).json
    const run = (await api<{ id: string }>('POST', `/tasks/${task.id}/run`)).json
    await vi.waitFor(async () => { expect((await execution(run.id)).status).toBe('succeeded') }, { timeout: 15_000, interval: 200 })
    expect((await execution(run.id)).result).toEqual({ echo: 'hello', attempt: 1 })
    const metrics = (await api<{ runs: number, successRate: number }>('GET', `/agents/${(await api<{ items: Array<{ id: string }> }>('GET', '/agents')).json.items[0]!.id}/metrics`)).json
    expect(metrics).toMatchObject({ runs: 1, successRate: 1 })
    agent.child.kill('SIGTERM')
    await new Promise((resolve) => agent.child.once('exit', resolve))
    expect(agent.output()).toContain('agent stopped')
  }, 30_000)

  it('loses nothing when the agent is killed mid-run: the lease ends, the run times out and its retry succeeds', async () => {
    const first = startAgent()
    const task = (await api<{ id: string }>('POST', `/projects/${projectId}/tasks`, { name: 'slow', schedule: null, payload: { sleepMs: 3000 }, retry: { maxAttempts: 2, backoffSeconds: 1 } })).json
    const run = (await api<{ id: string }>('POST', `/tasks/${task.id}/run`)).json
    await vi.waitFor(async () => { expect((await execution(run.id)).status).toBe('running') }, { timeout: 15_000, interval: 100 })
    first.child.kill('SIGKILL')
    await vi.waitFor(async () => { expect((await execution(run.id)).status).toBe('timed_out') }, { timeout: 15_000, interval: 200 })
    startAgent()
    await vi.waitFor(async () => {
      const runs = (await api<{ items: Array<{ attempt: number, status: string }> }>('GET', `/executions?taskId=${task.id}`)).json.items
      expect(runs.map((r) => [r.attempt, r.status])).toEqual([[2, 'succeeded'], [1, 'timed_out']])
    }, { timeout: 20_000, interval: 200 })
  }, 60_000)
})
