// The README's files curl example ("Files: project files, task attachments and run artifacts"), run
// literally by bash against a listening Backplane: only its base URL is pointed at this test's server.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser } from '../helpers/auth.ts'
import { readmeBlock } from '../helpers/readme.ts'
import { makeProject } from '../helpers/work.ts'

const tools = spawnSync('sh', ['-c', 'command -v curl && command -v jq && command -v bash']).status === 0
let t: TestApp
let url: string
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bp-files-readme-'))
  t = await createTestApp({ env: { DATA_DIR: join(dir, 'data') } })
  url = await t.app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await t.close()
  await rm(dir, { recursive: true, force: true })
})

/** runScript runs a README block with bash (-euo pipefail) in the work folder; asynchronous, since the server answering it runs in this process. */
async function runScript (script: string, vars: Record<string, string>): Promise<{ code: number | null, out: string, err: string }> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...vars }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, out, err }
}

describe.skipIf(!tools)('the README files example', () => {
  it('uploads, downloads whole and by range, and downloads through a signed link', async () => {
    const user = await makeUser(t.app)
    const project = await makeProject(t.app, user)
    const script = (await readmeBlock('### Files: project files, task attachments and run artifacts')).replace('http://localhost:8080', url)
    const { code, out, err } = await runScript(script, { ACCESS: user.accessToken, PROJECT: project })
    expect(code, err).toBe(0)
    expect(out).toBe('build\ncontent-length: 9\nbuild ok\n')
    expect(await readFile(join(dir, 'copy.txt'), 'utf8')).toBe('build ok\n')
    const listed = await t.app.inject({ method: 'GET', url: `/api/v1/projects/${project}/files`, headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(listed.json().items).toMatchObject([{ name: 'report.txt', size: 9, contentType: 'text/plain' }])
  }, 60_000)

  it('sends a file in chunks through a resumable upload, and its SHA-256 is the file\'s', async () => {
    const user = await makeUser(t.app)
    const project = await makeProject(t.app, user)
    const script = (await readmeBlock('#### Resumable uploads')).replace('http://localhost:8080', url)
    const { code, out, err } = await runScript(script, { ACCESS: user.accessToken, PROJECT: project })
    expect(code, err).toBe(0)
    const [served, local] = out.trim().split('\n')
    expect(served).toMatch(/^[0-9a-f]{64}$/)
    expect(served).toBe(local)
    const listed = await t.app.inject({ method: 'GET', url: `/api/v1/projects/${project}/files`, headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(listed.json().items).toMatchObject([{ name: 'big.bin', size: 3_000_000, sha256: served }])
  }, 90_000)
})
