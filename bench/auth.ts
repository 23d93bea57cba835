// `npm run bench:auth`: an authenticated read (GET /api/v1/users/me with a bearer token) through
// Backplane's full pipeline against a bare Fastify 5 + jose + Drizzle baseline doing the same work.
// Run `node bench/auth.ts --help` for the options; bench/README.md explains the figures.
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { backplaneEnv, ORIGIN, startNodeFlags } from './lib/backplane-env.ts'
import { comparisonRows, HEADER, measureRoute, summariseRoute, summaryOf, warnNon2xx, type RouteComparison, type Run } from './lib/load.ts'
import { startOtlpSink, type OtlpSink } from './lib/otlp-sink.ts'
import { mb, statusKb } from './lib/proc.ts'
import { intOption, machine, sourceState, table, writeResult } from './lib/report.ts'
import { serverScript, startServer, type ServerChild } from './lib/servers.ts'
import { openBenchSession } from './lib/session.ts'

const USAGE = `Usage: node bench/auth.ts [options]   (npm run bench:auth -- [options])
  --duration <s>      seconds per measured run          (BENCH_DURATION, default 10)
  --connections <n>   concurrent connections            (BENCH_CONNECTIONS, default 50)
  --warmup <s>        warm-up seconds per server        (BENCH_WARMUP, default 3; 0 skips)
  --rounds <n>        alternating rounds                (BENCH_ROUNDS, default 3; the median is reported)
  --tracing           also run a third server exporting every request's trace (100 % sampling) to a
                      local OTLP receiver, measured in the same rounds (BENCH_TRACING=1)
  --help`

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    connections: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    tracing: { type: 'boolean', default: false },
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
  tracing: flags.tracing || env.BENCH_TRACING === '1'
}

const ROUTE = '/api/v1/users/me'
const ISSUER = 'backplane-bench'
const AUDIENCE = 'backplane-bench'
const POOL_MAX = 10
// Issue 3: an authenticated read through Backplane keeps at least this share of the baseline's req/s.
const TARGET_RATIO = 0.7

async function call (server: ServerChild, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, text: string }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { origin: ORIGIN, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, text: await res.text() }
}

/** signIn registers a fresh user on Backplane and signs it in; it returns the access token. */
async function signIn (backplane: ServerChild): Promise<string> {
  const email = `bench-${Date.now()}@example.test`
  const password = `${randomBytes(18).toString('base64url')}-Aa1!`
  const registered = await call(backplane, 'POST', '/api/v1/auth/register', { email, password, name: 'Bench User' })
  if (registered.status !== 202) throw new Error(`register answered ${registered.status}: ${registered.text}`)
  const login = await call(backplane, 'POST', '/api/v1/auth/login', { email, password })
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.text}`)
  return (JSON.parse(login.text) as { accessToken: string }).accessToken
}

/** tracingSummary prints and returns the traced server's figures against Backplane untraced and the baseline. */
function tracingSummary (runs: Run[], summary: RouteComparison, sink: OtlpSink) {
  const traced = summaryOf(runs, ROUTE, 'traced')
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000
  const result = {
    traced,
    reqPerSecVsUntraced: ratio(traced.reqPerSec, summary.backplane.reqPerSec),
    cpuPerRequestVsUntraced: ratio(traced.cpuUsPerRequest, summary.backplane.cpuUsPerRequest),
    reqPerSecVsBaseline: ratio(traced.reqPerSec, summary.baseline.reqPerSec),
    exports: sink.exports(),
    exportedBytes: sink.bytes()
  }
  process.stdout.write(`\ntracing (100 % sampling to a local OTLP receiver): ${traced.reqPerSec} req/s, p99 ${traced.p99Ms} ms, ${traced.cpuUsPerRequest} µs CPU/req\n`)
  process.stdout.write(`  traced / untraced Backplane: req/s ${result.reqPerSecVsUntraced}, CPU/req ${result.cpuPerRequestVsUntraced}x; traced / baseline: req/s ${result.reqPerSecVsBaseline}\n`)
  process.stdout.write(`  tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT) is the backplane row: no OpenTelemetry SDK, exporter or instrumentation loaded; ${result.exports} exports (${mb(result.exportedBytes / 1024)} MB) received\n`)
  return result
}

async function main (): Promise<void> {
  const { database, logDir, servers, stopAll, cleanup } = await openBenchSession()
  try {
    process.stdout.write(`Database: ${database.describe}\n`)
    const settings = backplaneEnv(database, logDir, 'production', {
      // One user sends every request: give it the largest per-user budget so it is never answered 429.
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      // Long enough for any run (the default is 15 min).
      AUTH_ACCESS_TTL_SECONDS: '86400',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      DATABASE_POOL_MAX: String(POOL_MAX)
    })
    const backplane = await startServer('backplane', serverScript('./backplane-server.ts'), { execArgv: startNodeFlags(), env: settings })
    servers.push(backplane)
    const token = await signIn(backplane)
    const auth = { authorization: `Bearer ${token}` }
    const me = await call(backplane, 'GET', ROUTE, undefined, auth)
    if (me.status !== 200) throw new Error(`Backplane GET ${ROUTE} answered ${me.status}: ${me.text}`)
    const jwks = await call(backplane, 'GET', '/.well-known/jwks.json')
    if (jwks.status !== 200) throw new Error(`Backplane GET /.well-known/jwks.json answered ${jwks.status}`)

    const baseline = await startServer('baseline', serverScript('./auth-baseline-server.ts'), {
      env: {
        ...process.env,
        BENCH_JWKS: jwks.text,
        BENCH_ISSUER: ISSUER,
        BENCH_AUDIENCE: AUDIENCE,
        BENCH_POOL_MAX: String(POOL_MAX),
        BENCH_DATABASE_URL: backplane.databaseUrl ?? database.settings.DATABASE_URL ?? ''
      }
    })
    servers.unshift(baseline)
    const same = await call(baseline, 'GET', ROUTE, undefined, auth)
    if (same.status !== 200 || same.text !== me.text) throw new Error(`the baseline answered ${same.status} ${same.text}, Backplane ${me.text}`)
    const refused = await call(baseline, 'GET', ROUTE, undefined, { authorization: `Bearer ${token.slice(0, -2)}AA` })
    if (refused.status !== 401) throw new Error(`the baseline accepted a tampered token (${refused.status})`)
    process.stdout.write(`Both servers answer GET ${ROUTE} with ${me.text}\n\n`)

    // The tracing run: the same server exporting every span (OTLP/HTTP protobuf, the SDK's default)
    // to a local receiver, so the figure is the cost of tracing, not of a network.
    const sink = options.tracing ? await startOtlpSink() : undefined
    if (sink) {
      const traced = await startServer('traced', serverScript('./backplane-server.ts'), {
        execArgv: startNodeFlags(),
        // The first server's database (an embedded one is locked to its process), same keys and settings.
        env: { ...settings, DATABASE_URL: backplane.databaseUrl ?? settings.DATABASE_URL, LOG_FILE: `${logDir}/traced.log`, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on', OTEL_SERVICE_NAME: 'backplane-bench' }
      })
      servers.push(traced)
      const tracedMe = await call(traced, 'GET', ROUTE, undefined, auth)
      if (tracedMe.text !== me.text) throw new Error(`the traced server answered ${tracedMe.status} ${tracedMe.text}`)
    }
    const load = { before: loadavg()[0] ?? 0, after: 0 }
    const { runs } = await measureRoute(servers, ROUTE, { ...options, headers: { origin: ORIGIN, ...auth } })
    load.after = loadavg()[0] ?? 0
    const memory = {
      baseline: { rssMb: mb((await statusKb(baseline.pid, 'VmRSS')) ?? 0), peakRssMb: mb((await statusKb(baseline.pid, 'VmHWM')) ?? 0) },
      backplane: { rssMb: mb((await statusKb(backplane.pid, 'VmRSS')) ?? 0), peakRssMb: mb((await statusKb(backplane.pid, 'VmHWM')) ?? 0) }
    }
    await stopAll()

    const summary = summariseRoute(runs, ROUTE)
    const met = summary.ratio >= TARGET_RATIO
    process.stdout.write('\n' + table(HEADER, comparisonRows(summary)) + '\n')
    process.stdout.write(`\nmedian of ${options.rounds} alternating ${options.duration} s runs, ${options.connections} connections, after a ${options.warmup} s warm-up; non-2xx and errors summed over all runs\n`)
    process.stdout.write('req/s ratio = Backplane/baseline throughput; CPU/req ratio = Backplane/baseline CPU time per request (server process, all threads)\n')
    process.stdout.write(`target (issue 3): Backplane >= ${TARGET_RATIO * 100}% of the baseline's req/s: ${met ? 'met' : 'MISSED'} (${(summary.ratio * 100).toFixed(1)}%)\n`)
    process.stdout.write(`load average (1 min) before ${load.before.toFixed(2)}, after ${load.after.toFixed(2)} on ${machine().cpus} CPUs${load.before > 1 ? ' (the machine was busy before the run: trust CPU/req more than req/s)' : ''}\n`)
    const tracing = sink ? tracingSummary(runs, summary, sink) : undefined
    await sink?.close()
    warnNon2xx(runs)
    process.stdout.write(`RSS after the runs: baseline ${memory.baseline.rssMb} MB (peak ${memory.baseline.peakRssMb}), backplane ${memory.backplane.rssMb} MB (peak ${memory.backplane.peakRssMb})\n`)

    const file = await writeResult('auth', {
      kind: 'auth',
      date: new Date().toISOString(),
      machine: machine(),
      source: sourceState(),
      options,
      database: database.mode,
      loadAverage: load,
      target: { minReqPerSecRatio: TARGET_RATIO, met },
      summary,
      tracing,
      runs,
      memory
    })
    process.stdout.write(`results: ${file}\n`)
  } finally {
    await cleanup()
  }
}

await main()
