import { execFile, spawn } from 'node:child_process'
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { projectRoot } from '../helpers/process.ts'
import { adminQuery } from '../helpers/services.ts'

interface Run { code: number, stdout: string, stderr: string }

const fixture = join(projectRoot, 'test', 'fixtures', 'workspaces', 'pnpm-monorepo')
const KEY = /bp_[a-z0-9]{8}_[A-Za-z0-9_-]{43}/g

let db: TestDatabase
let work: string
let workspace: string
const env = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', BACKPLANE_SECRET: 'cli-test-secret-0123456789-abcdefghij', DATABASE_URL: db.url })

function cli (args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['src/main.ts', ...args], { cwd: projectRoot, env: env(), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
    })
  })
}

async function registry (): Promise<Array<{ name: string, enabled: boolean, origins: string[], detected_path: string, missing: boolean, updated_at: Date, api_key_id: string }>> {
  const { rows } = await adminQuery(db.url, 'SELECT name, enabled, origins, detected_path, missing_since IS NOT NULL AS missing, updated_at, api_key_id FROM frontends ORDER BY name')
  return rows
}

// A copy of the fixture, so that apps can be removed, added and moved.
beforeAll(async () => {
  db = await createTestDatabase()
  work = await mkdtemp(join(tmpdir(), 'backplane-sync-'))
  workspace = join(work, 'shop')
  await cp(fixture, workspace, { recursive: true })
})
afterAll(async () => {
  await db?.drop()
  if (work) await rm(work, { recursive: true, force: true })
})

describe('backplane frontends sync', { timeout: 120_000 }, () => {
  it('records the detected frontends, each with a key shown once', async () => {
    const run = await cli(['frontends', 'sync', workspace])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^acme-admin +created +angular +http:\/\/localhost:4300 +apps\/admin$/m)
    expect(run.stdout).toMatch(/^acme-web +created +react-vite +http:\/\/localhost:3001 +apps\/web$/m)
    expect(run.stdout.match(KEY)).toHaveLength(2)
    const rows = await registry()
    expect(rows.map((r) => [r.name, r.enabled, r.origins, r.detected_path])).toEqual([
      ['acme-admin', true, ['http://localhost:4300'], join(workspace, 'apps', 'admin')],
      ['acme-web', true, ['http://localhost:3001'], join(workspace, 'apps', 'web')]
    ])
  })

  it('run again (as detect --apply), changes nothing and shows no key', async () => {
    const before = await registry()
    const keys = (await adminQuery(db.url, 'SELECT count(*)::int AS n FROM api_keys')).rows[0].n
    const run = await cli(['frontends', 'detect', '--apply', workspace])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain('2 unchanged.')
    expect(run.stdout).not.toMatch(KEY)
    expect(await registry()).toEqual(before)
    expect((await adminQuery(db.url, 'SELECT count(*)::int AS n FROM api_keys')).rows[0].n).toBe(keys)
  })

  it('disables an app that was removed (never deletes it), and enables it when it is back', async () => {
    const admin = join(workspace, 'apps', 'admin')
    const parked = join(work, 'admin-parked')
    await rename(admin, parked)
    const gone = await cli(['frontends', 'sync', workspace, '--json'])
    expect(gone.code, gone.stderr).toBe(0)
    const report = JSON.parse(gone.stdout) as { frontends: Array<{ name: string, action: string }> }
    expect(report.frontends).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'acme-admin', action: 'disabled' }), expect.objectContaining({ name: 'acme-web', action: 'unchanged' })]))
    expect((await registry()).map((r) => [r.name, r.enabled, r.missing])).toEqual([['acme-admin', false, true], ['acme-web', true, false]])

    await rename(parked, admin)
    const back = await cli(['frontends', 'sync', workspace])
    expect(back.stdout).toMatch(/^acme-admin +enabled /m)
    expect(back.stdout).not.toMatch(KEY)
    expect((await registry()).map((r) => [r.name, r.enabled, r.missing])).toEqual([['acme-admin', true, false], ['acme-web', true, false]])
  })

  it('refuses a folder that does not exist before touching the database', async () => {
    const run = await cli(['frontends', 'sync', join(work, 'nope')])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('directory not found')
  })
})

describe('backplane frontends sync --watch', { timeout: 120_000 }, () => {
  it('notices frontends added, moved and removed, and updates the registry', async () => {
    // Safe to retry: a name of its own each attempt, and no folder left by an earlier one.
    const name = `shop${Math.random().toString(36).slice(2, 8)}`
    const app = `acme-${name}`
    const shop = join(workspace, 'apps', 'shop')
    const store = join(workspace, 'apps', 'store')
    await rm(shop, { recursive: true, force: true })
    await rm(store, { recursive: true, force: true })
    // The watcher reacts within a second on a quiet machine; a loaded CI machine gets more room.
    const within = { timeout: 30_000, interval: 100 }
    const child = spawn(process.execPath, ['src/main.ts', 'frontends', 'sync', '--watch', workspace], { cwd: projectRoot, env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
    try {
      await vi.waitFor(() => { expect(out).toContain('Watching for frontends') }, { timeout: 30_000, interval: 100 })
      const byName = async (name: string) => (await registry()).find((r) => r.name === name)

      // A new app: a copy of web with its own name and port.
      await cp(join(workspace, 'apps', 'web'), shop, { recursive: true })
      const manifest = JSON.parse(await readFile(join(shop, 'package.json'), 'utf8')) as { name: string }
      await writeFile(join(shop, 'package.json'), JSON.stringify({ ...manifest, name: `@acme/${name}` }))
      await writeFile(join(shop, 'vite.config.ts'), (await readFile(join(shop, 'vite.config.ts'), 'utf8')).replace('port: 3001', 'port: 3005'))
      await vi.waitFor(async () => { expect(await byName(app)).toMatchObject({ enabled: true, origins: ['http://localhost:3005'] }) }, within)
      expect(out).toMatch(new RegExp(`^${app} +created `, 'm'))
      expect(out.match(KEY)).toHaveLength(1)

      // Moved: the same app in another folder keeps its name and key.
      const key = (await byName(app))!.api_key_id
      await rename(shop, store)
      await vi.waitFor(async () => { expect(await byName(app)).toMatchObject({ enabled: true, detected_path: store, api_key_id: key }) }, within)

      // Removed: disabled, not deleted.
      await rm(store, { recursive: true, force: true })
      await vi.waitFor(async () => { expect(await byName(app)).toMatchObject({ enabled: false, missing: true }) }, within)
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
  })
})

describe('backplane frontends sync --write-clients', { timeout: 120_000 }, () => {
  it('writes a typed client and the URL and key into each app, and the key works for that app', async () => {
    const shop = join(work, 'clients')
    await cp(fixture, shop, { recursive: true })
    const run = await cli(['frontends', 'sync', shop, '--write-clients', '--base-url', 'http://localhost:9999'])
    expect(run.code, run.stderr + run.stdout).toBe(0)
    const envFile = await readFile(join(shop, 'apps', 'web', '.env.local'), 'utf8')
    expect(envFile).toContain('VITE_BACKPLANE_URL=http://localhost:9999')
    const key = /VITE_BACKPLANE_KEY=(bp_\S+)/.exec(envFile)?.[1]
    expect(key).toMatch(/^bp_[a-z0-9]{8}_/)
    // The key written is the one the registry holds for that frontend (its hash is stored).
    const { rows } = await adminQuery(db.url, 'SELECT k.prefix FROM frontends f JOIN api_keys k ON k.id = f.api_key_id WHERE f.detected_path = $1 AND k.revoked_at IS NULL', [join(shop, 'apps', 'web')])
    expect(key!.split('_')[1]).toBe((rows[0] as { prefix: string }).prefix)
    expect(await readFile(join(shop, 'apps', 'web', 'src', 'lib', 'backplane.ts'), 'utf8')).toMatch(/^\/\/ Generated by Backplane/)
    expect(await readFile(join(shop, 'apps', 'admin', 'src', 'environments', 'backplane.ts'), 'utf8')).toContain('http://localhost:9999')

    // Run again, the apps keep the key written into them: nothing is rotated, nothing rewritten.
    const again = await cli(['frontends', 'sync', shop, '--write-clients', '--base-url', 'http://localhost:9999'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).not.toMatch(/rotated/)
    expect(again.stdout).toContain('unchanged apps/web/.env.local')
    expect(again.stdout).not.toMatch(/^wrote /m)
    expect(await readFile(join(shop, 'apps', 'web', '.env.local'), 'utf8')).toBe(envFile)

    // A key in the app that is not (or no longer) its frontend's is replaced by a fresh one.
    await writeFile(join(shop, 'apps', 'web', '.env.local'), envFile.replace(key!, `${key!.slice(0, -4)}AAAA`))
    const stale = await cli(['frontends', 'sync', shop, '--write-clients', '--base-url', 'http://localhost:9999'])
    expect(stale.code, stale.stderr).toBe(0)
    expect(stale.stderr).toMatch(/rotated the key of acme-web/)
    expect(stale.stderr).not.toMatch(/rotated the key of acme-admin/)
    const rotated = /VITE_BACKPLANE_KEY=(bp_\S+)/.exec(await readFile(join(shop, 'apps', 'web', '.env.local'), 'utf8'))?.[1]
    expect(rotated).not.toBe(key)
    expect(rotated).toMatch(/^bp_[a-z0-9]{8}_/)
  })
})
