import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedPostgres } from '../../src/platform/adapters/embedded-postgres.ts'
import { withDatabase } from '../../src/platform/adapters/postgres.ts'
import { adminQuery, canConnectPostgres, requireServices } from '../helpers/services.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const mainScript = join(root, 'src', 'main.ts')
const COMMANDS = ['start', 'migrate', 'seed', 'config', 'openapi']

interface Run { code: number | null, stdout: string, stderr: string }

/**
 * cli runs `node src/main.ts …` on this Node (24, type stripping) with only the given settings,
 * in a working directory of the test's choosing: the CLI reads `.env` and `backplane.yaml` from there.
 */
function cli (args: string[], options: { env?: Record<string, string>, cwd: string, timeout?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainScript, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
      timeout: options.timeout ?? 60_000,
      maxBuffer: 16 * 1024 * 1024
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr })
    })
  })
}

let cwd: string
beforeAll(async () => { cwd = await mkdtemp(join(tmpdir(), 'backplane-cli-')) })
afterAll(async () => { await rm(cwd, { recursive: true, force: true }) })

describe.concurrent('help', { timeout: 60_000 }, () => {
  it('lists every command', async () => {
    const run = await cli(['--help'], { cwd })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^Usage: backplane \[options\] \[command\]/)
    for (const name of COMMANDS) expect(run.stdout).toMatch(new RegExp(`\\n {2}${name}\\b`))
  })

  it.each(COMMANDS)('%s --help describes the command without reading any setting', async (name) => {
    // A broken setting must not stop anyone reading the help.
    const run = await cli([name, '--help'], { cwd, env: { PORT: 'abc' } })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(new RegExp(`^Usage: backplane ${name} \\[options\\]\\n\\n\\S`))
    expect(run.stderr).toBe('')
  })

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
    const run = await cli(['--version'], { cwd })
    expect(run.stdout.trim()).toBe(pkg.version)
  })
})

describe.concurrent('config', { timeout: 60_000 }, () => {
  const secrets = {
    BACKPLANE_SECRET: 'secret-canary-0123456789abcdef0123456789',
    METRICS_TOKEN: 'token-canary-0123456789',
    DATABASE_URL: 'postgres://app:password-canary@db.example:5432/app'
  }

  it('prints every setting with where it came from, secrets masked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-cli-config-'))
    try {
      await writeFile(join(dir, '.env'), 'PORT=9191\n')
      await writeFile(join(dir, 'backplane.yaml'), 'LOG_LEVEL: warn\n')
      const run = await cli(['config'], { cwd: dir, env: secrets })
      expect(run.code).toBe(0)
      expect(run.stderr).toBe('')
      expect(run.stdout).not.toContain('canary')
      expect(run.stdout).toMatch(/^BACKPLANE_SECRET +\*{4} {2}\(environment\)$/m)
      expect(run.stdout).toMatch(/^METRICS_TOKEN +\*{4} {2}\(environment\)$/m)
      expect(run.stdout).toMatch(/^DATABASE_URL +postgres:\/\/app:\*{4}@db\.example:5432\/app {2}\(environment\)$/m)
      expect(run.stdout).toMatch(/^PORT +9191 {2}\(\.env\)$/m)
      expect(run.stdout).toMatch(/^LOG_LEVEL +warn {2}\(backplane\.yaml\)$/m)
      expect(run.stdout).toMatch(/^HOST +127\.0\.0\.1$/m)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('--json prints valid JSON of the same values', async () => {
    const run = await cli(['config', '--json'], { cwd, env: { ...secrets, PORT: '9292' } })
    expect(run.code).toBe(0)
    expect(run.stdout).not.toContain('canary')
    const values = JSON.parse(run.stdout) as Record<string, string>
    expect(values).toMatchObject({
      PORT: '9292',
      HOST: '127.0.0.1',
      BACKPLANE_ENV: 'development',
      BACKPLANE_SECRET: '****',
      METRICS_TOKEN: '****',
      DATABASE_URL: 'postgres://app:****@db.example:5432/app'
    })
  })
})

describe.concurrent('a bad setting', { timeout: 60_000 }, () => {
  it.each([
    ['start', ['start']],
    ['the default command', []],
    ['config', ['config']],
    ['config --json', ['config', '--json']],
    ['migrate', ['migrate']],
    ['openapi', ['openapi']]
  ])('stops %s with exit 1 and one line naming it', async (_name, args) => {
    const run = await cli(args, { cwd, env: { PORT: 'abc' } })
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe('PORT="abc" is not valid (from environment): expected a whole number from 0 to 65535\n')
  })

  it('refuses production without a secret, saying what to set', async () => {
    const run = await cli(['start'], { cwd, env: { BACKPLANE_ENV: 'production' } })
    expect(run.code).toBe(1)
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^BACKPLANE_SECRET is required when BACKPLANE_ENV=production: set it/)])
  })

  it('reports a broken backplane.yaml the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-cli-yaml-'))
    try {
      await writeFile(join(dir, 'backplane.yaml'), 'PORT: 8080\nPROT: 9090\n')
      const run = await cli(['config'], { cwd: dir })
      expect(run.code).toBe(1)
      expect(run.stderr).toBe(`${join(dir, 'backplane.yaml')}: unknown setting PROT (settings use the environment variable names, e.g. PORT)\n`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe.concurrent('openapi', { timeout: 60_000 }, () => {
  it('prints a valid OpenAPI 3.1 document without touching any database', async () => {
    // A listener standing in for PostgreSQL: any connection attempt would be counted.
    let connections = 0
    const trap = createServer((socket) => { connections++; socket.destroy() })
    await new Promise<void>((resolve) => { trap.listen(0, '127.0.0.1', resolve) })
    const address = trap.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const dataDir = join(cwd, 'openapi-data')
    try {
      const run = await cli(['openapi'], { cwd, env: { DATABASE_URL: `postgres://x:y@127.0.0.1:${port}/none`, DATA_DIR: dataDir } })
      expect(run.code).toBe(0)
      expect(run.stderr).toBe('')
      const doc = JSON.parse(run.stdout) as { openapi: string, info: { title: string, version: string }, paths: Record<string, unknown> }
      expect(doc.openapi).toBe('3.1.0')
      expect(doc.info.title).toBe('Backplane API')
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/instance', '/health/live', '/health/ready']))
      expect(connections).toBe(0)
      expect(existsSync(dataDir)).toBe(false)

      // Structural validity against the OpenAPI 3.1 specification (redocly's `spec` rules only).
      const file = join(cwd, 'openapi.json')
      await writeFile(file, run.stdout)
      const lint = await new Promise<Run>((resolve) => {
        execFile(process.execPath, [join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js'), 'lint', file, '--extends=spec', '--format=stylish'], {
          cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
        }, (err, stdout, stderr) => { resolve({ code: err ? 1 : 0, stdout, stderr }) })
      })
      expect(lint.stdout + lint.stderr).toContain('valid')
      expect(lint.code, lint.stdout + lint.stderr).toBe(0)
    } finally {
      await new Promise((resolve) => trap.close(resolve))
    }
  })

  it('does not start the embedded database either', async () => {
    const dataDir = join(cwd, 'openapi-embedded-data')
    const run = await cli(['openapi'], { cwd, env: { DATA_DIR: dataDir } })
    expect(run.code).toBe(0)
    expect((JSON.parse(run.stdout) as { openapi: string }).openapi).toBe('3.1.0')
    expect(existsSync(dataDir)).toBe(false)
  })
})

interface SettingRow { id: string, key: string, value: string, created_at: string, updated_at: string }
const SETTINGS_SQL = 'SELECT id::text, key, value::text, created_at::text, updated_at::text FROM instance_settings ORDER BY key'

function expectSeededSettings (rows: SettingRow[]): void {
  expect(rows.map((r) => r.key)).toEqual(['instance.id', 'instance.name'])
  expect(rows[0]?.value).toMatch(/^"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$/)
  expect(rows[1]?.value).toBe('"Backplane"')
}

function migrationCount (): number {
  const journal = JSON.parse(readFileSync(join(root, 'migrations', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
  return journal.entries.length
}

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const serverAnswers = await canConnectPostgres(adminUrl)

describe.skipIf(!serverAnswers && !requireServices)('migrate and seed against a PostgreSQL server', () => {
  const name = `bp_cli_${randomBytes(5).toString('hex')}`
  let url = ''
  let created = false

  beforeAll(async () => {
    if (!serverAnswers) throw new Error('PostgreSQL does not answer at the admin URL and BACKPLANE_REQUIRE_SERVICES=1: this is a failure, not a skip')
    await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
    created = true
    url = withDatabase(adminUrl, name)
  })
  afterAll(async () => {
    if (created) await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })

  it('migrate applies every migration, and again changes nothing', async () => {
    for (let i = 0; i < 2; i++) {
      const run = await cli(['migrate'], { cwd, env: { DATABASE_URL: url } })
      expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'migrations applied\n', stderr: '' })
      const applied = await adminQuery(url, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')
      expect(applied.rows[0]).toEqual({ n: migrationCount() })
      const table = await adminQuery(url, "SELECT to_regclass('public.instance_settings')::text AS t")
      expect(table.rows[0]).toEqual({ t: 'instance_settings' })
    }
  })

  it('seed run twice changes nothing', async () => {
    const first = await cli(['seed'], { cwd, env: { DATABASE_URL: url } })
    expect(first, first.stderr).toMatchObject({ code: 0, stdout: 'seeded: instance, audit\n', stderr: '' })
    const before = (await adminQuery(url, SETTINGS_SQL)).rows as SettingRow[]
    expectSeededSettings(before)

    const second = await cli(['seed'], { cwd, env: { DATABASE_URL: url } })
    expect(second, second.stderr).toMatchObject({ code: 0, stdout: 'seeded: instance, audit\n' })
    expect((await adminQuery(url, SETTINGS_SQL)).rows).toEqual(before)
  })

  it('seed --demo adds the demo data once, prints its credentials once, and is refused in production', async () => {
    const first = await cli(['seed', '--demo'], { cwd, env: { DATABASE_URL: url } })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^demo account +demo@backplane\.example +password \S+ +\(shown once\)$/m)
    expect(first.stdout).toMatch(/^demo agent +\S+ +key bp_\S+ +\(shown once\)$/m)
    const demoRows = "SELECT (SELECT count(*) FROM projects WHERE name = 'Demo project')::int AS projects, (SELECT count(*) FROM agents WHERE name = 'demo-agent')::int AS agents"
    expect((await adminQuery(url, demoRows)).rows[0]).toEqual({ projects: 1, agents: 1 })
    const second = await cli(['seed', '--demo'], { cwd, env: { DATABASE_URL: url } })
    expect(second, second.stderr).toMatchObject({ code: 0, stdout: 'seeded: instance, audit\ndemo data is there already (account demo@backplane.example); nothing added\n' })
    expect((await adminQuery(url, demoRows)).rows[0]).toEqual({ projects: 1, agents: 1 })
    const prod = await cli(['seed', '--demo'], { cwd, env: { DATABASE_URL: url, BACKPLANE_ENV: 'production', BACKPLANE_SECRET: 'x'.repeat(40) } })
    expect(prod).toMatchObject({ code: 1, stdout: '', stderr: 'backplane: demo data is for development and is refused with BACKPLANE_ENV=production\n' })
  })
})

/** postgresProcessesFor lists running processes whose command line names the cluster dir (Linux /proc). */
function postgresProcessesFor (clusterDir: string): string[] {
  if (!existsSync('/proc')) return []
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string
    try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') } catch { continue }
    if (cmdline.includes(clusterDir)) found.push(`${pid}: ${cmdline}`)
  }
  return found
}

describe('migrate and seed with the embedded database', { timeout: 180_000 }, () => {
  let dataDir = ''
  let clusterDir = ''

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'backplane-cli-data-'))
    clusterDir = join(dataDir, 'postgres')
  })
  afterAll(async () => {
    // Should a test fail half-way, do not leave the server this file started running.
    const pidFile = join(clusterDir, 'postmaster.pid')
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
      if (Number.isInteger(pid) && pid > 0) { try { process.kill(pid, 'SIGINT') } catch {} }
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
    await rm(dataDir, { recursive: true, force: true })
  })

  function expectStopped (): void {
    expect(existsSync(join(clusterDir, 'postmaster.pid'))).toBe(false)
    expect(existsSync(join(dataDir, 'backplane.pid'))).toBe(false)
    expect(postgresProcessesFor(clusterDir)).toEqual([])
  }

  async function readSettings (): Promise<SettingRow[]> {
    const server = await startEmbeddedPostgres(dataDir, pino({ level: 'silent' }))
    try {
      return (await adminQuery(server.url, SETTINGS_SQL)).rows as SettingRow[]
    } finally {
      await server.stop()
    }
  }

  it('migrate starts the embedded PostgreSQL, migrates and stops it', async () => {
    const run = await cli(['migrate'], { cwd, env: { DATA_DIR: dataDir }, timeout: 120_000 })
    expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'migrations applied\n', stderr: '' })
    expect(readFileSync(join(clusterDir, 'PG_VERSION'), 'utf8').trim()).toBe('18')
    const password = await stat(join(dataDir, 'postgres.password'))
    expect(password.mode & 0o777).toBe(0o600)
    expect(readFileSync(join(dataDir, 'postgres.password'), 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expectStopped()
  })

  it('seed run twice changes nothing, and stops the server each time', async () => {
    const first = await cli(['seed'], { cwd, env: { DATA_DIR: dataDir }, timeout: 120_000 })
    expect(first, first.stderr).toMatchObject({ code: 0, stdout: 'seeded: instance, audit\n', stderr: '' })
    expectStopped()
    const before = await readSettings()
    expectSeededSettings(before)

    const second = await cli(['seed'], { cwd, env: { DATA_DIR: dataDir }, timeout: 120_000 })
    expect(second, second.stderr).toMatchObject({ code: 0, stdout: 'seeded: instance, audit\n' })
    expectStopped()
    expect(await readSettings()).toEqual(before)
    expectStopped()
  })
})
