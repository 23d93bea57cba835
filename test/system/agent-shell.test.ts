// The shell agent of the README ("Writing an agent"), run literally as a user would copy it, against
// a real `backplane start`: it runs a task's command and reports success or failure, and it keeps
// heart-beating across a restart of the server (a refused heartbeat must not end the loop).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { strongPassword, uniqueEmail } from '../helpers/auth.ts'
import { freePort, projectRoot, spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'

const tools = spawnSync('sh', ['-c', 'command -v curl && command -v jq']).status === 0
let dir: string
let scriptDir: string
let env: Record<string, string>
let bp: BackplaneProcess
let token: string
let projectId: string
let agentId: string
let agent: ChildProcess | undefined

async function api<T = Record<string, unknown>> (method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${bp.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return (await res.json()) as T
}

/** readmeAgent is the first ```sh block after the README's "Writing an agent" heading. */
async function readmeAgent (): Promise<string> {
  const readme = await readFile(join(projectRoot, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Writing an agent'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)
  if (!block) throw new Error('README has no shell agent')
  return block[1]!
}

async function runTask (command: string): Promise<{ status: string, logs: string, error: string | null, result: unknown }> {
  const task = await api<{ id: string }>('POST', `/projects/${projectId}/tasks`, { name: 'shell', payload: { command }, target: { labels: ['sh'] } })
  const run = await api<{ id: string }>('POST', `/tasks/${task.id}/run`)
  let execution = { status: 'queued', logs: '', error: null as string | null, result: null as unknown }
  await vi.waitFor(async () => {
    execution = await api('GET', `/executions/${run.id}`)
    expect(['succeeded', 'failed']).toContain(execution.status)
  }, { timeout: 20_000, interval: 200 })
  return execution
}

beforeAll(async () => {
  if (!tools) return
  dir = await mkdtemp(join(tmpdir(), 'backplane-shell-agent-'))
  scriptDir = await mkdtemp(join(tmpdir(), 'backplane-shell-script-'))
  env = { DATA_DIR: dir, PORT: String(await freePort()), RATE_LIMIT_AUTH_PER_MINUTE: '1000' }
  bp = await spawnBackplane(env)
  const email = uniqueEmail()
  const password = strongPassword()
  const post = (path: string, body: unknown) => fetch(`${bp.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  await post('/auth/register', { email, password })
  token = ((await (await post('/auth/login', { email, password })).json()) as { accessToken: string }).accessToken
  projectId = (await api<{ id: string }>('POST', '/projects', { name: 'shell' })).id
  const registered = await api<{ agent: { id: string }, apiKey: string }>('POST', '/agents', { name: 'shell', projectId, labels: ['sh'] })
  agentId = registered.agent.id
  const script = join(scriptDir, 'agent.sh')
  await writeFile(script, await readmeAgent())
  // Its own process group: the script's background heartbeat loop and its curl calls go with it.
  agent = spawn('sh', [script], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '', BACKPLANE_URL: bp.url, BACKPLANE_AGENT_KEY: registered.apiKey } })
}, 60_000)

afterAll(async () => {
  if (agent?.pid) process.kill(-agent.pid, 'SIGKILL')
  if (bp) {
    bp.child.kill('SIGTERM')
    await bp.exited
  }
  for (const d of [dir, scriptDir]) if (d) await rm(d, { recursive: true, force: true })
})

describe.skipIf(!tools)('the README shell agent', () => {
  it('runs a task\'s command and reports its output; a failing command is a failed run', async () => {
    const ok = await runTask('echo hello-from-sh')
    expect(ok).toMatchObject({ status: 'succeeded', result: { ok: true } })
    expect(ok.logs).toContain('hello-from-sh')
    const bad = await runTask('echo broken >&2; exit 3')
    expect(bad).toMatchObject({ status: 'failed', error: 'command failed' })
    expect(bad.logs).toContain('broken')
  }, 60_000)

  it('keeps heart-beating after the server was down for longer than a heartbeat, and runs work again', async () => {
    bp.child.kill('SIGTERM')
    await bp.exited
    // Down past one 15 s heartbeat interval, so a heartbeat is surely refused meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 17_000))
    bp = await spawnBackplane(env)
    const back = Date.now()
    await vi.waitFor(async () => {
      const seen = (await api<{ lastSeenAt: string | null }>('GET', `/agents/${agentId}`)).lastSeenAt
      expect(Date.parse(seen ?? '')).toBeGreaterThan(back)
    }, { timeout: 40_000, interval: 500 })
    expect((await runTask('echo after-restart')).logs).toContain('after-restart')
  }, 120_000)
})
