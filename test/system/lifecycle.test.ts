import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { createTestDatabase } from '../helpers/db.ts'
import { spawnBackplane } from '../helpers/process.ts'

const dirs: string[] = []
async function dataDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'backplane-life-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

function postmasterRunning (dir: string): boolean {
  return existsSync(join(dir, 'postgres', 'postmaster.pid'))
}

// Each test spawns real processes that initialise their own PostgreSQL cluster (twice in some):
// seconds on a quiet machine, far more on a loaded 2-core CI one.
const REAL_PROCESS = { timeout: 120_000 }

describe('graceful shutdown (real process, embedded PostgreSQL)', REAL_PROCESS, () => {
  it('finishes a slow request in flight when SIGTERM arrives, refuses readiness, then exits 0 and stops its database', async () => {
    const dir = await dataDir()
    const bp = await spawnBackplane({ DATA_DIR: dir, SHUTDOWN_DELAY_MS: '300' }, ['test/fixtures/serve-with-slow-route.ts'])
    const slow = fetch(`${bp.url}/test/slow?ms=1500`).then(async (r) => ({ status: r.status, body: await r.json() }))
    await new Promise((resolve) => setTimeout(resolve, 200))
    bp.child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 100))
    // During SHUTDOWN_DELAY the server still answers, and readiness says it is going away.
    const ready = await fetch(`${bp.url}/health/ready`)
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as { status: string }).status).toBe('draining')
    const done = await slow
    expect(done).toEqual({ status: 200, body: { slept: 1500 } })
    const exit = await bp.exited
    expect(exit.code, bp.output()).toBe(0)
    expect(bp.output()).toContain('"msg":"stopped"')
    // A fresh instance has no admin: start-up says how to make one.
    expect(bp.output()).toContain('No admin account yet. Create one with:')
    expect(postmasterRunning(dir)).toBe(false)
  })

  it('drains and exits 0 on a SIGTERM that lands right after it turned ready, while start-up still awaits the database', async () => {
    // The admin count that prints the start-up hint waits behind this lock: a SIGTERM sent then used
    // to find no handler installed yet and killed the process (exit by signal, no drain).
    const db = await createTestDatabase()
    const locker = new pg.Client({ connectionString: db.url })
    await locker.connect()
    try {
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE')
      const bp = await spawnBackplane({ DATABASE_URL: db.url, BACKPLANE_ENV: 'test', BACKPLANE_SECRET: 'test-secret-0123456789-abcdefghijklmnop', SHUTDOWN_DELAY_MS: '0' })
      bp.child.kill('SIGTERM')
      await new Promise((resolve) => setTimeout(resolve, 500))
      await locker.query('ROLLBACK')
      const exit = await bp.exited
      expect(exit, bp.output()).toEqual({ code: 0, signal: null })
      expect(bp.output()).toContain('"msg":"stopped"')
    } finally {
      await locker.end()
      await db.drop()
    }
  })

  it('forces exit 1 on a second signal', async () => {
    const dir = await dataDir()
    const bp = await spawnBackplane({ DATA_DIR: dir, SHUTDOWN_DELAY_MS: '5000' })
    bp.child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 300))
    bp.child.kill('SIGTERM')
    const exit = await bp.exited
    expect(exit.code).toBe(1)
    // The next start must still work with the data dir it left behind.
    const again = await spawnBackplane({ DATA_DIR: dir })
    again.child.kill('SIGTERM')
    expect((await again.exited).code).toBe(0)
  })
})

describe('crash safety of the embedded database', REAL_PROCESS, () => {
  it('adopts the PostgreSQL orphaned by kill -9 and keeps the data', async () => {
    const dir = await dataDir()
    const first = await spawnBackplane({ DATA_DIR: dir })
    const before = await (await fetch(`${first.url}/api/v1/instance`)).json() as { id: string }
    first.child.kill('SIGKILL')
    await first.exited
    expect(postmasterRunning(dir)).toBe(true)

    const second = await spawnBackplane({ DATA_DIR: dir })
    expect(second.output()).toContain('adopting the embedded PostgreSQL')
    const after = await (await fetch(`${second.url}/api/v1/instance`)).json() as { id: string }
    expect(after.id).toBe(before.id)
    second.child.kill('SIGTERM')
    expect(await second.exited, second.output()).toEqual({ code: 0, signal: null })
    expect(postmasterRunning(dir)).toBe(false)

    // A clean restart after that keeps the same data too.
    const third = await spawnBackplane({ DATA_DIR: dir })
    expect(((await (await fetch(`${third.url}/api/v1/instance`)).json()) as { id: string }).id).toBe(before.id)
    third.child.kill('SIGTERM')
    expect(await third.exited, third.output()).toEqual({ code: 0, signal: null })
  })

  it('starts over a stale postmaster.pid whose pid now belongs to another program (reboot, new container)', async () => {
    const dir = await dataDir()
    const first = await spawnBackplane({ DATA_DIR: dir }, undefined, 90_000)
    const before = await (await fetch(`${first.url}/api/v1/instance`)).json() as { id: string }
    first.child.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
    const { spawn } = await import('node:child_process')
    const { writeFile, stat } = await import('node:fs/promises')
    const other = spawn('sleep', ['120'], { stdio: 'ignore' })
    try {
      const pidFile = join(dir, 'postgres', 'postmaster.pid')
      await writeFile(pidFile, `${other.pid}\n${join(dir, 'postgres')}\n1700000000\n1\n\n127.0.0.1\n  0  0\nready   \n`, { mode: 0o600 })
      const owner = await stat(join(dir, 'postgres'))
      const { chown } = await import('node:fs/promises')
      await chown(pidFile, owner.uid, owner.gid)
      const second = await spawnBackplane({ DATA_DIR: dir }, undefined, 90_000)
      expect(second.output()).not.toContain('adopting')
      expect(((await (await fetch(`${second.url}/api/v1/instance`)).json()) as { id: string }).id).toBe(before.id)
      second.child.kill('SIGTERM')
      expect((await second.exited).code).toBe(0)
    } finally {
      other.kill()
    }
  }, 240_000)

  it('refuses a second Backplane on the same data dir while the first runs', async () => {
    const dir = await dataDir()
    const first = await spawnBackplane({ DATA_DIR: dir })
    await expect(spawnBackplane({ DATA_DIR: dir }, undefined, 15_000)).rejects.toThrow(/Another Backplane process \(pid \d+\) is using/)
    first.child.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
  })

  it('keeps the generated database password in a 0600 file', async () => {
    const dir = await dataDir()
    const bp = await spawnBackplane({ DATA_DIR: dir })
    const { stat } = await import('node:fs/promises')
    expect((await stat(join(dir, 'postgres.password'))).mode & 0o777).toBe(0o600)
    expect((await readFile(join(dir, 'postgres.password'), 'utf8')).length).toBeGreaterThanOrEqual(32)
    bp.child.kill('SIGTERM')
    await bp.exited
  })
})

describe('a DATA_DIR that cannot be a folder', () => {
  it('stops start-up with one line naming DATA_DIR, before any database starts', async () => {
    const { writeFile } = await import('node:fs/promises')
    const file = join(await dataDir(), 'plain-file')
    await writeFile(file, 'x')
    const inner = join(file, 'data')
    await expect(spawnBackplane({ DATA_DIR: inner }, undefined, 15_000)).rejects.toThrow(
      `DATA_DIR=${JSON.stringify(inner)} cannot be used: ${inner} cannot be created as a folder (ENOTDIR); set DATA_DIR to a folder Backplane may write`)
  })
})

describe.skipIf(process.getuid?.() !== 0)('running as root', () => {
  it('says clearly when the postgres user cannot reach DATA_DIR', async () => {
    const { mkdir, chmod } = await import('node:fs/promises')
    const locked = await dataDir()
    await chmod(locked, 0o700)
    const inner = join(locked, 'data')
    await mkdir(inner)
    await expect(spawnBackplane({ DATA_DIR: inner }, undefined, 15_000)).rejects.toThrow(/the postgres user cannot reach .* Set DATA_DIR to a folder it can reach/)
  })
})
