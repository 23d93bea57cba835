import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { projectRoot } from '../helpers/process.ts'
import { copyDeployTree } from './compose-stack.ts'
import { hasTool, inCi, run } from './tools.ts'

// docs/deploy.md is followed literally: every fenced command block carries a marker, and the
// blocks this machine can run (no Docker engine, no cluster) are run here, in document order.
interface Block { marker: string, lang: string, code: string }

/** docBlocks returns the fenced blocks of a Markdown text with the `<!-- doc-test: … -->` marker above each. */
function docBlocks (text: string): Block[] {
  return [...text.matchAll(/(?:<!-- doc-test: ([a-z-]+) -->\n)?```([a-z]*)\n([\s\S]*?)```/g)].map((m) => ({ marker: m[1] ?? '', lang: m[2] ?? '', code: m[3] ?? '' }))
}

const blocks = docBlocks(readFileSync(join(projectRoot, 'docs', 'deploy.md'), 'utf8'))
const toolsReady = hasTool('docker-compose', ['version']) && hasTool('kubectl', ['version', '--client']) && hasTool('openssl', ['version'])
const pgDumpReady = hasTool('pg_dump') && hasTool('pg_restore') && hasTool('psql')
// Runs a docs command as written: `docker compose` (v2) maps to Debian's docker-compose (v1); any
// other docker command needs an engine and fails loudly.
const DOCKER_SHIM = 'docker () { if [ "$1" = compose ]; then shift; docker-compose "$@"; else echo "docker $*: needs a Docker engine" >&2; return 1; fi; }'

function script (selected: Block[]): string {
  return ['set -euo pipefail', DOCKER_SHIM, ...selected.map((b) => `cd "$ROOT"\n${b.code}`)].join('\n')
}

describe('docs/deploy.md', () => {
  it('marks every command block as run here, or as needing a Docker engine or a cluster', () => {
    expect(blocks.length).toBeGreaterThan(8)
    for (const block of blocks) {
      expect(['run', 'backup', 'cron', 'needs-engine', 'needs-cluster'], block.code).toContain(block.marker)
      // A block is excused only for what truly needs an engine or a cluster.
      if (block.marker === 'needs-engine') expect(block.code, block.code).toMatch(/\bdocker (build|run|compose (up|ps|exec|run|build|--profile))/)
      if (block.marker === 'needs-cluster') expect(block.code, block.code).toMatch(/\bkubectl (apply|-n \S+ rollout)/)
    }
  })

  describe.skipIf(!toolsReady)('the blocks that need no engine or cluster', () => {
    let root = ''
    beforeAll(async () => { ({ root } = await copyDeployTree()) })
    afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }) })

    it('run as written: compose settings and config, the TLS certificate, the Kubernetes render and Secret', async () => {
      const result = run('bash', ['-c', script(blocks.filter((b) => b.marker === 'run'))], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ROOT: root } })
      expect(result.status, result.output).toBe(0)
      // What they made: a filled .env (no empty secret), the TLS template selected, a certificate, the manifests.
      const env = readFileSync(join(root, 'deploy', 'compose', '.env'), 'utf8')
      expect(env).toMatch(/^BACKPLANE_SECRET=[0-9a-f]{64}$/m)
      expect(env).toMatch(/^NGINX_TEMPLATE=backplane-tls\.conf\.template$/m)
      expect(result.stdout).toContain('subject=CN = localhost')
      expect(await readdir(join(root, 'deploy', 'compose', 'certs'))).toEqual(['tls.crt', 'tls.key'])
      expect(readFileSync(join(root, 'backplane-production.yaml'), 'utf8')).toContain('kind: Deployment')
      const secret = readFileSync(join(root, 'backplane-secrets.yaml'), 'utf8')
      expect(secret).toMatch(/kind: Secret[\s\S]*namespace: backplane/)
      expect(secret).toContain('BACKPLANE_SECRET:')
    }, 120_000)
  })

  describe.skipIf(!pgDumpReady)('the backup schedule and the restore drill, on a private database', () => {
    let db: TestDatabase | undefined
    let dir = ''
    let versionsMatch = false

    beforeAll(async () => {
      db = await createTestDatabase()
      // pg_dump refuses a newer server: the embedded lane's PostgreSQL 18 may be newer than the client here.
      const server = Number(run('psql', ['--no-psqlrc', '-At', '--dbname', db.url, '-c', 'SHOW server_version_num']).stdout.trim()) / 10000
      const client = Number(/(\d+)/.exec(run('pg_dump', ['--version']).stdout)?.[1])
      versionsMatch = client >= Math.floor(server)
      if (!versionsMatch && inCi && process.env.DATABASE_URL) throw new Error(`pg_dump ${client} cannot dump the services lane's PostgreSQL ${server}`)
      dir = await mkdtemp(join(tmpdir(), 'backplane-backup-doc-'))
      await writeFile(join(dir, 'backup.env'), `DATABASE_URL=${db.url}\n`, { mode: 0o600 })
      run('psql', ['--no-psqlrc', '--dbname', db.url, '-c', "INSERT INTO instance_settings (id, key, value) VALUES (gen_random_uuid(), 'docs-drill', '{}')"])
    })

    afterAll(async () => {
      // The docs' swap leaves the pre-restore database as <name>_damaged.
      if (db) run('psql', ['--no-psqlrc', '--dbname', db.url.replace(/\/[^/?]+(\?|$)/, '/postgres$1'), '-c', `DROP DATABASE IF EXISTS ${db.name}_damaged WITH (FORCE)`, '-c', `DROP DATABASE IF EXISTS ${db.name}_restored WITH (FORCE)`])
      await db?.drop()
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    // The docs' paths, pointed at this test's folders.
    const localise = (code: string) => code
      .replaceAll('/opt/backplane', projectRoot)
      .replaceAll('/var/backups/backplane', join(dir, 'dumps'))
      .replaceAll('/etc/backplane/backup.env', join(dir, 'backup.env'))

    it('the cron entry makes a dump, the drill restores and compares it, and the restore runs', (context) => {
      if (!versionsMatch) context.skip()
      const cron = blocks.filter((b) => b.marker === 'cron')
      expect(cron).toHaveLength(1)
      // A crontab line: five time fields and the user, then the command cron runs with /bin/sh.
      const command = localise(cron[0]!.code.trim()).split(/\s+/).slice(6).join(' ')
      const backup = run('sh', ['-c', command], { env: { PATH: process.env.PATH } })
      expect(backup.status, backup.output).toBe(0)
      expect(backup.stdout).toMatch(/backplane-\d{8}T\d{6}Z\.dump$/m)
      const drill = run('bash', ['-c', localise(script(blocks.filter((b) => b.marker === 'backup')))], { env: { PATH: process.env.PATH, ROOT: projectRoot, DATABASE_URL: db!.url } })
      expect(drill.status, drill.output).toBe(0)
      expect(drill.stdout).toContain('restore drill passed')
      // After the swap the live name holds the restored copy, with the row written before the dump.
      expect(run('psql', ['--no-psqlrc', '-At', '--dbname', db!.url, '-c', "SELECT count(*) FROM instance_settings WHERE key = 'docs-drill'"]).stdout.trim()).toBe('1')
      expect(run('psql', ['--no-psqlrc', '-At', '--dbname', db!.url, '-c', `SELECT count(*) FROM pg_database WHERE datname = '${db!.name}_damaged'`]).stdout.trim()).toBe('1')
    }, 120_000)

    it('the drill fails when the restored database differs from the live one', (context) => {
      if (!versionsMatch) context.skip()
      const dumps = join(dir, 'dumps')
      const latest = run('sh', ['-c', `ls -1t ${dumps}/backplane-*.dump | head -n 1`]).stdout.trim()
      run('psql', ['--no-psqlrc', '--dbname', db!.url, '-c', "INSERT INTO instance_settings (id, key, value) VALUES (gen_random_uuid(), 'after-the-dump', '{}')"])
      const drill = run(join(projectRoot, 'deploy', 'backup', 'restore-drill.sh'), [latest], { env: { PATH: process.env.PATH, DATABASE_URL: db!.url } })
      expect(drill.status).toBe(1)
      expect(drill.stderr).toContain('differs from the live one')
      // The scratch database is gone either way.
      expect(run('psql', ['--no-psqlrc', '-At', '--dbname', db!.url, '-c', "SELECT count(*) FROM pg_database WHERE datname LIKE 'backplane_restore_drill_%'"]).stdout.trim()).toBe('0')
    }, 60_000)
  })
})
