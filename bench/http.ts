// `npm run bench`: HTTP throughput of Backplane's full pipeline against a bare Fastify 5 baseline.
// Run `node bench/http.ts --help` for the options; bench/README.md explains the figures.
import { readdir, readFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { backplaneEnv, contractHeaders, ORIGIN, startNodeFlags } from './lib/backplane-env.ts'
import { comparisonRows, HEADER, measureRoute, summariseRoute, warnNon2xx, type LoadOptions, type Run } from './lib/load.ts'
import { mb, statusKb } from './lib/proc.ts'
import { intOption, machine, sourceState, resultsDir, table, writeResult } from './lib/report.ts'
import { serverScript, startServer, type ServerChild } from './lib/servers.ts'
import { openBenchSession } from './lib/session.ts'

const USAGE = `Usage: node bench/http.ts [options]   (npm run bench -- [options])
  --duration <s>      seconds per measured run          (BENCH_DURATION, default 10)
  --connections <n>   concurrent connections            (BENCH_CONNECTIONS, default 50)
  --warmup <s>        warm-up seconds per server/route  (BENCH_WARMUP, default 3; 0 skips)
  --rounds <n>        alternating rounds per route      (BENCH_ROUNDS, default 3; the median is reported)
  --log-mode <m>      production: createLogger as shipped (pino-roll file + stdout to /dev/null)
                      file: the same logger on the pino-roll transport only   (BENCH_LOG_MODE)
  --baseline <b>      bare: Fastify with no plugins (the issue's baseline)
                      floor: the same Fastify plus Backplane's response headers and one pino line a
                      request to a file: what the headers and the request log alone cost   (BENCH_BASELINE)
  --cpu-prof          write V8 CPU profiles of both servers to bench/results/cpu-<date>/<server>/
  --help`

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    connections: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    'log-mode': { type: 'string' },
    baseline: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}

const env = process.env
const options = {
  duration: intOption('--duration', flags.duration ?? env.BENCH_DURATION, 10),
  connections: intOption('--connections', flags.connections ?? env.BENCH_CONNECTIONS, 50),
  warmup: intOption('--warmup', flags.warmup ?? env.BENCH_WARMUP, 3, 0),
  rounds: intOption('--rounds', flags.rounds ?? env.BENCH_ROUNDS, 3),
  logMode: flags['log-mode'] ?? env.BENCH_LOG_MODE ?? 'production',
  baseline: flags.baseline ?? env.BENCH_BASELINE ?? 'bare',
  cpuProf: flags['cpu-prof']
}
if (!['production', 'file'].includes(options.logMode)) throw new Error('--log-mode must be production or file')
if (!['bare', 'floor'].includes(options.baseline)) throw new Error('--baseline must be bare or floor')

const ROUTES = ['/api/v1/instance', '/health/live'] as const
const loadOptions: LoadOptions = { ...options, headers: { origin: ORIGIN } }

const profileStamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')

function profileFlags (server: string): string[] {
  return options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}cpu-${profileStamp}/${server}`] : []
}

async function check (server: ServerChild, path: string): Promise<{ body: string, headers: Headers }> {
  const res = await fetch(server.url + path, { headers: { origin: ORIGIN } })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${server.name} GET ${path} answered ${res.status}: ${body}`)
  return { body, headers: res.headers }
}

async function countLoggedRequests (dir: string): Promise<number> {
  let lines = 0
  for (const name of await readdir(dir)) {
    if (name === 'floor.log') continue // the floor baseline's own lines
    const text = await readFile(join(dir, name), 'utf8').catch(() => '')
    for (const line of text.split('\n')) if (line.includes('"msg":"request"')) lines++
  }
  return lines
}

async function measure (baseline: ServerChild, backplane: ServerChild): Promise<{ runs: Run[], warmupRequests: number }> {
  const runs: Run[] = []
  let warmupRequests = 0
  for (const route of ROUTES) {
    const measured = await measureRoute([baseline, backplane], route, loadOptions)
    runs.push(...measured.runs)
    if (route === ROUTES[0]) warmupRequests += measured.warmupRequests.backplane ?? 0
  }
  return { runs, warmupRequests }
}

async function main (): Promise<void> {
  const { database, logDir, servers, stopAll, cleanup } = await openBenchSession()
  try {
    process.stdout.write(`Database: ${database.describe}\nLogs: ${logDir} (${options.logMode})\nBaseline: ${options.baseline}\n`)
    const backplane = await startServer('backplane', serverScript('./backplane-server.ts'), {
      execArgv: [...startNodeFlags(), ...profileFlags('backplane')],
      env: backplaneEnv(database, logDir, options.logMode)
    })
    servers.push(backplane)
    const instance = await check(backplane, ROUTES[0])
    for (const header of ['x-request-id', 'content-security-policy', 'access-control-allow-origin']) {
      if (!instance.headers.has(header)) throw new Error(`Backplane's reply lacks ${header}: is the pipeline complete?`)
    }
    // The floor baseline sends Backplane's own response headers (the request id made anew) and logs a line a request.
    const floor = options.baseline === 'floor'
      ? { BENCH_BASELINE_HEADERS: JSON.stringify(contractHeaders(instance.headers)), BENCH_BASELINE_LOG: join(logDir, 'floor.log') }
      : {}
    const baseline = await startServer('baseline', serverScript('./baseline-server.ts'), {
      execArgv: profileFlags('baseline'),
      env: { ...process.env, BENCH_INSTANCE_JSON: instance.body, ...floor }
    })
    servers.unshift(baseline)
    const same = (await check(baseline, ROUTES[0])).body === instance.body
    if (!same) throw new Error('the baseline does not return the same JSON as Backplane')
    process.stdout.write(`Both servers answer ${ROUTES[0]} with ${instance.body}\n\n`)

    const load = { before: loadavg()[0] ?? 0, after: 0 }
    const { runs, warmupRequests } = await measure(baseline, backplane)
    load.after = loadavg()[0] ?? 0
    const memory = {
      baseline: { rssMb: mb((await statusKb(baseline.pid, 'VmRSS')) ?? 0), peakRssMb: mb((await statusKb(baseline.pid, 'VmHWM')) ?? 0) },
      backplane: { rssMb: mb((await statusKb(backplane.pid, 'VmRSS')) ?? 0), peakRssMb: mb((await statusKb(backplane.pid, 'VmHWM')) ?? 0) }
    }
    await stopAll()
    const counted = warmupRequests + 1 + runs.filter((r) => r.server === 'backplane' && r.route === ROUTES[0]).reduce((n, r) => n + r.requests, 0)
    const logged = await countLoggedRequests(logDir)

    const summary = ROUTES.map((route) => summariseRoute(runs, route))
    process.stdout.write('\n' + table(HEADER, summary.flatMap(comparisonRows)) + '\n')
    process.stdout.write(`\nmedian of ${options.rounds} alternating ${options.duration} s runs, ${options.connections} connections, after a ${options.warmup} s warm-up; non-2xx and errors summed over all runs\n`)
    process.stdout.write('req/s ratio = Backplane/baseline throughput; CPU/req ratio = Backplane/baseline CPU time per request (server process, all threads)\n')
    process.stdout.write(`load average (1 min) before ${load.before.toFixed(2)}, after ${load.after.toFixed(2)} on ${machine().cpus} CPUs${load.before > 1 ? ' (the machine was busy before the run: trust CPU/req more than req/s)' : ''}\n`)
    warnNon2xx(runs)
    process.stdout.write(`RSS after the runs: baseline ${memory.baseline.rssMb} MB (peak ${memory.baseline.peakRssMb}), backplane ${memory.backplane.rssMb} MB (peak ${memory.backplane.peakRssMb})\n`)
    process.stdout.write(`request log lines written by Backplane: ${logged} (GET ${ROUTES[0]} responses counted by autocannon: ${counted}; /health/live writes a line only for a 5xx, so none)\n`)

    const file = await writeResult('http', {
      kind: 'http',
      date: new Date().toISOString(),
      machine: machine(),
      source: sourceState(),
      options,
      database: database.mode,
      loadAverage: load,
      summary,
      runs,
      memory,
      requestLog: { linesWritten: logged, instanceResponsesCounted: counted }
    })
    process.stdout.write(`results: ${file}\n`)
  } finally {
    await cleanup()
  }
}

await main()
