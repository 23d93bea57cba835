import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runNode, spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'

const SECRET = 'cli-running-secret-0123456789-abcdefghij'
let dir = ''
let bp: BackplaneProcess | undefined
afterAll(async () => {
  if (bp && bp.child.exitCode === null) bp.child.kill('SIGKILL')
  if (dir) await rm(dir, { recursive: true, force: true })
})

// The start-up banner says to run create-admin in another terminal while the server runs: with the
// embedded PostgreSQL that used to be refused ("Another Backplane process … is using the data dir").
describe('create-admin beside a running server (embedded PostgreSQL)', { timeout: 180_000 }, () => {
  it('creates the admin through the running server\'s PostgreSQL, leaves it running, and the admin signs in at once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'backplane-admin-'))
    bp = await spawnBackplane({ DATA_DIR: dir, BACKPLANE_SECRET: SECRET }, ['src/main.ts', 'start'], 90_000)
    expect(bp.output()).toContain('No admin account yet')
    expect(bp.output()).toContain('while this server keeps running')

    const password = 'a-Very-long-passphrase-42'
    const cli = runNode(['src/main.ts', 'create-admin', '--email', 'ops@example.test', '--password', password], { DATA_DIR: dir, BACKPLANE_SECRET: SECRET })
    const exit = await cli.exited
    expect(exit.code, cli.output()).toBe(0)
    expect(cli.output()).toMatch(/created admin ops@example\.test/)

    // The server never noticed: still ready, its database still up.
    expect((await fetch(`${bp.url}/health/ready`)).status).toBe(200)
    const login = await fetch(`${bp.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ops@example.test', password }) })
    expect(login.status).toBe(200)
    const { accessToken } = await login.json() as { accessToken: string }
    const overview = await fetch(`${bp.url}/api/v1/admin/analytics/overview`, { headers: { authorization: `Bearer ${accessToken}` } })
    expect(overview.status).toBe(200)

    bp.child.kill('SIGTERM')
    expect((await bp.exited).code, bp.output()).toBe(0)
  })
})
