// `node bench/startup.ts`: how fast `backplane start` is ready with the embedded PostgreSQL, and how much memory it holds idle.
// Run `node bench/startup.ts --help` for the options; bench/README.md explains the figures.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuSeconds, freePort, mb, settingsFreeEnv, statusKb, treeMemory, type TreeMemory } from './lib/proc.ts'
import { intOption, machine, median, sourceState, table, writeResult } from './lib/report.ts'
import { startNodeFlags } from './lib/backplane-env.ts'

const USAGE = `Usage: node bench/startup.ts [options]
  --restarts <n>   later starts after the first one      (BENCH_RESTARTS, default 3)
  --idle <ms>      idle time before reading RSS          (BENCH_IDLE_MS, default 3000)
  --keep           keep the temporary DATA_DIR
  --help`

const { values: flags } = parseArgs({
  options: {
    restarts: { type: 'string' },
    idle: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
const options = {
  restarts: intOption('--restarts', flags.restarts ?? process.env.BENCH_RESTARTS, 3),
  idleMs: intOption('--idle', flags.idle ?? process.env.BENCH_IDLE_MS, 3000, 0)
}
const TARGETS = { firstStartMs: 3000, laterStartMs: 1500, nodeIdleRssMb: 120 }
// What `npm start` runs: the compiled dist/ (rebuilt first when src/ changed, as prestart does)
// with the start script's Node flags, so the figures are those a user gets.
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const NODE_FLAGS = startNodeFlags()
const prestart = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/build-if-stale.ts', import.meta.url))], { stdio: 'inherit' })
if (prestart.status !== 0) process.exit(prestart.status ?? 1)

interface Start {
  start: number
  /** ms from spawn to the first 200 from /health/ready (polled every 10 ms). */
  readyMs: number
  /** ms from spawn to the 'backplane ready' log line, and the readyMs that line reports (start() only, without Node's own boot and module loading). */
  readyLineMs?: number
  startReportedMs?: number
  initialisedCluster: boolean
  /** CPU ms the Node process (all threads) had used when it was ready: what the start costs without other load. */
  nodeCpuMs: number
  nodeRssMb: number
  postgres: TreeMemory
  /** ms from SIGTERM to the process exit, and its exit code. */
  stopMs: number
  exitCode: number | null
  postgresStopped: boolean
}

async function waitReady (child: ChildProcess, port: number, since: number, stderr: string[]): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`backplane exited with ${child.exitCode} before it was ready:\n${stderr.join('')}`)
    if (performance.now() - since > 60_000) throw new Error('backplane was not ready within 60 s')
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return performance.now() - since
    } catch {
      // Not listening yet.
    }
    await sleep(10)
  }
}

async function postmasterPid (dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '')
  const pid = Number(text.split('\n')[0])
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

async function stop (child: ChildProcess): Promise<{ stopMs: number, exitCode: number | null }> {
  const since = performance.now()
  const exited = new Promise<number | null>((resolve) => { child.once('exit', (code) => { resolve(code) }) })
  child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
  const exitCode = await exited
  clearTimeout(timer)
  return { stopMs: Math.round(performance.now() - since), exitCode }
}

async function once (n: number, root: string, dataDir: string): Promise<Start> {
  const port = await freePort()
  const initialisedCluster = n === 0
  const since = performance.now()
  // cwd is the temporary folder, so no .env or backplane.yaml of the checkout is read.
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN, 'start'], {
    cwd: root,
    env: settingsFreeEnv({ DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const stderr: string[] = []
  child.stderr!.on('data', (chunk: Buffer) => { stderr.push(chunk.toString()) })
  let readyLineMs: number | undefined
  let startReportedMs: number | undefined
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.includes('"backplane ready"')) return
    readyLineMs = Math.round(performance.now() - since)
    startReportedMs = (JSON.parse(line) as { readyMs?: number }).readyMs
  })
  try {
    const readyMs = Math.round(await waitReady(child, port, since, stderr))
    const nodeCpuMs = Math.round((await cpuSeconds(child.pid!)) * 1000)
    await sleep(options.idleMs)
    const nodeRssMb = mb((await statusKb(child.pid!, 'VmRSS')) ?? 0)
    const postmaster = await postmasterPid(dataDir)
    const postgres = postmaster ? await treeMemory(postmaster) : { processes: 0, rssMb: 0 }
    const { stopMs, exitCode } = await stop(child)
    const postgresStopped = (await postmasterPid(dataDir)) === undefined
    return { start: n + 1, readyMs, readyLineMs, startReportedMs, initialisedCluster, nodeCpuMs, nodeRssMb, postgres, stopMs, exitCode, postgresStopped }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

async function stopOrphanedPostgres (dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir)
  if (pid === undefined) return
  try {
    process.kill(pid, 'SIGINT') // PostgreSQL's fast shutdown
    for (let i = 0; i < 100 && (await postmasterPid(dataDir)) !== undefined; i++) await sleep(100)
  } catch {
    // Already gone.
  }
}

function round1 (n: number): number {
  return Math.round(n * 10) / 10
}

function verdict (ok: boolean): string {
  return ok ? 'ok' : 'MISSED'
}

async function main (): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'backplane-startup-'))
  // mkdtemp makes a 0700 folder; as root the embedded server runs as `postgres`, which must traverse it.
  await chmod(root, 0o711)
  const dataDir = join(root, 'data')
  const load: { before: number, after?: number } = { before: loadavg()[0] ?? 0 }
  const starts: Start[] = []
  try {
    process.stdout.write(`DATA_DIR ${dataDir}\n`)
    for (let n = 0; n <= options.restarts; n++) {
      const s = await once(n, root, dataDir)
      starts.push(s)
      process.stdout.write(`start ${s.start}${s.initialisedCluster ? ' (first: initdb)' : ''}: ready in ${s.readyMs} ms, node ${s.nodeRssMb} MB, postgres ${s.postgres.rssMb} MB RSS, stopped in ${s.stopMs} ms (exit ${s.exitCode})\n`)
      if (s.exitCode !== 0 || !s.postgresStopped) throw new Error(`start ${s.start} did not shut down cleanly (exit ${s.exitCode}, postgres stopped: ${s.postgresStopped})`)
    }
  } finally {
    await stopOrphanedPostgres(dataDir)
    if (!flags.keep) await rm(root, { recursive: true, force: true })
  }
  const [first, ...later] = starts
  const laterMedian = median(later.map((s) => s.readyMs))
  const laterMax = Math.max(...later.map((s) => s.readyMs))
  const nodeRss = round1(median(starts.map((s) => s.nodeRssMb)))
  const summary = {
    firstStartMs: first!.readyMs,
    laterStartMsMedian: laterMedian,
    laterStartMsMax: laterMax,
    nodeIdleRssMbMedian: nodeRss,
    nodeCpuMsToReadyFirst: first!.nodeCpuMs,
    nodeCpuMsToReadyLaterMedian: median(later.map((s) => s.nodeCpuMs)),
    postgresIdleRssMbMedian: round1(median(starts.map((s) => s.postgres.rssMb))),
    postgresIdlePssMbMedian: round1(median(starts.map((s) => s.postgres.pssMb ?? Number.NaN))),
    postgresProcesses: first!.postgres.processes
  }
  process.stdout.write('\n' + table(
    ['start', 'ready ms', 'log line ms', 'start() ms', 'before start() ms', 'node CPU ms', 'node RSS MB', 'postgres RSS MB', 'postgres PSS MB', 'pg procs', 'stop ms'],
    starts.map((s) => [s.initialisedCluster ? `${s.start} (initdb)` : String(s.start), s.readyMs, s.readyLineMs ?? '-', s.startReportedMs ?? '-',
      s.readyLineMs !== undefined && s.startReportedMs !== undefined ? s.readyLineMs - s.startReportedMs : '-', s.nodeCpuMs,
      s.nodeRssMb, s.postgres.rssMb, s.postgres.pssMb ?? '-', s.postgres.processes, s.stopMs])
  ) + '\n\n')
  process.stdout.write(table(['measure', 'value', 'target', 'verdict'], [
    ['first start (spawn → /health/ready 200)', `${summary.firstStartMs} ms`, `< ${TARGETS.firstStartMs} ms`, verdict(summary.firstStartMs < TARGETS.firstStartMs)],
    [`later starts, median of ${later.length} (max)`, `${laterMedian} ms (${laterMax})`, `< ${TARGETS.laterStartMs} ms`, verdict(laterMax < TARGETS.laterStartMs)],
    ['Node CPU time to ready: first, later median', `${first!.nodeCpuMs} ms, ${median(later.map((s) => s.nodeCpuMs))} ms`, '-', '-'],
    [`Node idle RSS after ${options.idleMs} ms, median`, `${nodeRss} MB`, `< ${TARGETS.nodeIdleRssMb} MB`, verdict(nodeRss < TARGETS.nodeIdleRssMb)],
    [`embedded PostgreSQL idle, ${summary.postgresProcesses} processes`, `${summary.postgresIdleRssMbMedian} MB RSS, ${summary.postgresIdlePssMbMedian} MB PSS`, '-', '-']
  ]) + '\n')
  load.after = loadavg()[0] ?? 0
  process.stdout.write(`load average (1 min) before ${load.before.toFixed(2)}, after ${(load.after ?? 0).toFixed(2)} on ${machine().cpus} CPUs\n`)
  const file = await writeResult('startup', { kind: 'startup', date: new Date().toISOString(), machine: machine(), source: sourceState(), options, targets: TARGETS, loadAverage: load, summary, starts })
  process.stdout.write(`results: ${file}\n`)
}

await main()
