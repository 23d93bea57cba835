import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, chown, cp, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../helpers/process.ts'
import { envOf, execForm, readDockerfile, runCommand, runtimeStage, stage } from './dockerfile.ts'
import { hasTool, inCi, run } from './tools.ts'

// The image's file set without Docker: the production-dependencies stage's own RUN line into a
// clean folder, the runtime stage's COPY sources beside it, then Node started as an unprivileged
// uid with that folder read-only (root-owned, 0755) and only DATA_DIR and TMPDIR writable.
const isRoot = userInfo().uid === 0
if (!isRoot && inCi) throw new Error('the runtime-stage test switches to an unprivileged uid and must run as root under CI')
const ready = isRoot && hasTool('setpriv')
const UNPRIVILEGED = { uid: 65534, gid: 65534 } // `nobody`: in /etc/passwd, which initdb requires

const stages = readDockerfile()
const runtime = runtimeStage(stages)
const dependencies = stage(stages, 'production-dependencies')

let root = ''
let app = ''
let dataDir = ''
let tmp = ''
let child: ChildProcess | undefined
let output = ''

function asUnprivileged (command: string[], env: Record<string, string>, cwd = app) {
  return spawn('setpriv', [`--reuid=${UNPRIVILEGED.uid}`, `--regid=${UNPRIVILEGED.gid}`, '--clear-groups', '--', ...command], {
    cwd, env, stdio: ['ignore', 'pipe', 'pipe']
  })
}

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true })
  return entries.sort()
}

describe.skipIf(!ready)('runtime stage of deploy/docker/Dockerfile without Docker', () => {
  let env: Record<string, string>
  let port = 0

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'backplane-runtime-'))
    await chmod(root, 0o755)
    app = join(root, 'app')
    dataDir = join(root, 'data')
    tmp = join(root, 'tmp')
    await mkdir(app)
    await mkdir(dataDir, { mode: 0o700 })
    await mkdir(tmp, { mode: 0o700 })
    await chown(dataDir, UNPRIVILEGED.uid, UNPRIVILEGED.gid)
    await chown(tmp, UNPRIVILEGED.uid, UNPRIVILEGED.gid)

    // dist/ is what the build stage produces: `npm run build`, when src/ changed since the last one.
    const build = run(process.execPath, ['scripts/build-if-stale.ts'], { cwd: projectRoot })
    expect(build.status, build.output).toBe(0)

    // The production-dependencies stage: its COPY sources, then its RUN line as written.
    for (const copy of dependencies.instructions.filter((i) => i.keyword === 'COPY')) {
      for (const source of copy.args.split(/\s+/).slice(0, -1)) await cp(join(projectRoot, source), join(app, source))
    }
    const install = dependencies.instructions.find((i) => i.keyword === 'RUN')!
    const npm = run('sh', ['-c', runCommand(install)], { cwd: app, env: { ...process.env, npm_config_prefer_offline: 'true' } })
    expect(npm.status, npm.output).toBe(0)

    // The runtime stage's COPY lines: --from=build takes the repository's fresh dist/, the rest the context.
    for (const copy of runtime.instructions.filter((i) => i.keyword === 'COPY')) {
      const parts = copy.args.split(/\s+/)
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length)
      const paths = parts.filter((p) => !p.startsWith('--'))
      const target = paths.at(-1)!
      if (from === 'production-dependencies') continue // installed in place above
      for (const source of paths.slice(0, -1)) {
        const relative = from === 'build' ? source.replace(/^\/app\//, '') : source
        // The console is built by `npm install` (prepare); a checkout without it still starts (/admin answers 503).
        if (relative === 'dashboard/dist' && !existsSync(join(projectRoot, relative))) continue
        const destination = target.endsWith('/') ? join(app, target, relative.split('/').at(-1)!) : join(app, target)
        await mkdir(dirname(destination), { recursive: true })
        await cp(join(projectRoot, relative), destination, { recursive: true })
      }
    }
    port = 20_000 + Math.floor(Math.random() * 20_000)
    env = {
      ...envOf(runtime),
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: '/nonexistent',
      DATA_DIR: dataDir,
      TMPDIR: tmp,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info'
    }
  }, 300_000)

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL')
      await new Promise((resolve) => child!.once('exit', resolve))
    }
    // The embedded PostgreSQL is stopped by the SIGTERM test; a leftover one would hold the folder.
    if (root) await rm(root, { recursive: true, force: true })
  })

  it('installs production dependencies only (no compiler, test runner or linter in the image)', () => {
    // Every package the lockfile marks dev-only is absent (typescript stays: openapi-typescript needs it).
    const lock = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev === true).map(([path]) => path)
    expect(devOnly).toEqual(expect.arrayContaining(['node_modules/vitest', 'node_modules/eslint', 'node_modules/drizzle-kit', 'node_modules/node']))
    expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([])
    expect(existsSync(join(app, 'node_modules', 'fastify'))).toBe(true)
    expect(existsSync(join(app, 'dist', 'main.js'))).toBe(true)
    expect(existsSync(join(app, 'migrations', 'meta', '_journal.json'))).toBe(true)
  })

  it('refuses the embedded database with the image\'s production default unless DATABASE_EMBEDDED_OK', async () => {
    const refused = asUnprivileged([process.execPath, 'dist/main.js', 'start'], { ...env, BACKPLANE_SECRET: 'x'.repeat(40) })
    let text = ''
    refused.stdout.on('data', (d: Buffer) => { text += d.toString() })
    refused.stderr.on('data', (d: Buffer) => { text += d.toString() })
    const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve))
    expect(code).toBe(1)
    expect(text).toContain('DATABASE_EMBEDDED_OK')
  })

  it('starts as an unprivileged uid on a read-only app folder and reaches /health/ready 200', async () => {
    const before = await filesUnder(app)
    const appMode = (await stat(app)).mode
    expect(appMode & 0o022).toBe(0) // nobody but root may write the app folder
    const started = Date.now()
    child = asUnprivileged([...execForm(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args)!, ...execForm(runtime.instructions.find((i) => i.keyword === 'CMD')!.args)!],
      { ...env, BACKPLANE_ENV: 'development' })
    child.stdout!.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr!.on('data', (d: Buffer) => { output += d.toString() })
    let status = 0
    while (Date.now() - started < 120_000 && child.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.status, () => 0)
      if (status === 200) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(status, output).toBe(200)
    // The process ran as the unprivileged uid, and wrote nothing into the app folder.
    const procStatus = run('cat', [`/proc/${child.pid}/status`]).stdout
    expect(procStatus).toMatch(new RegExp(`^Uid:\\s+${UNPRIVILEGED.uid}\\s`, 'm'))
    expect(await filesUnder(app)).toEqual(before)
    // The embedded PostgreSQL lives under DATA_DIR.
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true)
    const write = run('setpriv', [`--reuid=${UNPRIVILEGED.uid}`, `--regid=${UNPRIVILEGED.gid}`, '--clear-groups', '--', 'sh', '-c', `touch ${app}/probe`])
    expect(write.status).not.toBe(0)
  }, 150_000)

  it('answers the image HEALTHCHECK (Node, no curl) with exit 0', () => {
    const healthcheck = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!
    const command = execForm(healthcheck.args.replace(/^.*?\bCMD\s+/, ''))!
    expect(command[0]).toBe('node')
    const result = run('setpriv', [`--reuid=${UNPRIVILEGED.uid}`, `--regid=${UNPRIVILEGED.gid}`, '--clear-groups', '--', process.execPath, ...command.slice(1)], { cwd: app, env })
    expect(result.status, result.output).toBe(0)
  })

  it('stops on SIGTERM (the exec-form entrypoint gets the signal) with exit 0 and PostgreSQL stopped', async () => {
    expect(child?.exitCode).toBe(null)
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve))
    child!.kill('SIGTERM')
    expect(await exited, output).toBe(0)
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false)
  }, 60_000)
})
