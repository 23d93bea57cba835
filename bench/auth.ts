// `npm run bench:auth`: an authenticated read (GET /api/v1/users/me and GET /api/v1/projects/:id
// with a bearer token) through Backplane's full pipeline against, in the same run, a bare Fastify 5 +
// jose (Ed25519) + Drizzle baseline and the peers of bench/peers/ (Fastify + Drizzle, its floor
// variant, Express 5, NestJS) verifying an HS256 token and reading the same user row.
// Run `node bench/auth.ts --help` for the options; bench/README.md explains the figures.
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { backplaneEnv, contractHeaders, ORIGIN, startNodeFlags } from './lib/backplane-env.ts'
import { fixedRateRun, measureTargets, warnNon2xx, type FixedRateRun, type Target } from './lib/load.ts'
import { FIXED_HEADER, fixedRows, fixedVerdict, RATIOS_HEADER, ratioRows, ratios, summariseTargets, TARGETS_HEADER, targetRows, verdicts, type TargetSummary } from './lib/peer-report.ts'
import { startOtlpSink, type OtlpSink } from './lib/otlp-sink.ts'
import { ensurePeersInstalled, peerAuth, peerNames, peerVersions, startPeer } from './lib/peers.ts'
import { mb, pinToCpus, statusKb } from './lib/proc.ts'
import { intOption, machine, sourceState, table, writeResult } from './lib/report.ts'
import { serverScript, startServer, type ServerChild } from './lib/servers.ts'
import { openBenchSession } from './lib/session.ts'

const USAGE = `Usage: node bench/auth.ts [options]   (npm run bench:auth -- [options])
  --duration <s>      seconds per measured run          (BENCH_DURATION, default 10)
  --connections <n>   concurrent connections            (BENCH_CONNECTIONS, default 50)
  --warmup <s>        warm-up seconds per server/route  (BENCH_WARMUP, default 3; 0 skips)
  --rounds <n>        alternating rounds                (BENCH_ROUNDS, default 3; the median is reported)
  --peers <list>      peers to run beside the baseline: fastify,floor,express,nest (default), all, none
                      (BENCH_PEERS; installed with npm ci in bench/peers on the first run)
  --fixed-rate <s>    then drive each server at half its median req/s for <s> seconds and report
                      its p99 (BENCH_FIXED_RATE, default: the --duration; 0 skips)
  --cpus <list>       pin every server process to these CPUs with taskset, e.g. 0 (BENCH_CPUS; default: not pinned)
  --tracing           also run Backplane exporting every request's trace (100 % sampling) to a local
                      OTLP receiver, as one more server in the same rounds (BENCH_TRACING=1)
  --help`

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    connections: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    peers: { type: 'string' },
    'fixed-rate': { type: 'string' },
    cpus: { type: 'string' },
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
  peers: peerNames(flags.peers ?? env.BENCH_PEERS ?? 'fastify,floor,express,nest'),
  fixedRate: 0,
  cpus: flags.cpus ?? env.BENCH_CPUS ?? '',
  tracing: flags.tracing || env.BENCH_TRACING === '1'
}
options.fixedRate = intOption('--fixed-rate', flags['fixed-rate'] ?? env.BENCH_FIXED_RATE, options.duration, 0)

const ROUTE = '/api/v1/users/me'
const PROJECT_ROUTE = '/api/v1/projects/:id'
const ISSUER = 'backplane-bench'
const AUDIENCE = 'backplane-bench'
const POOL_MAX = 10

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

/** createProject makes a project owned by the signed-in user and returns its path (the second route). */
async function createProject (backplane: ServerChild, auth: Record<string, string>): Promise<string> {
  const created = await call(backplane, 'POST', '/api/v1/projects', { name: 'Bench project' }, auth)
  if (created.status !== 201) throw new Error(`POST /api/v1/projects answered ${created.status}: ${created.text}`)
  return `/api/v1/projects/${(JSON.parse(created.text) as { id: string }).id}`
}

/** checkPeer requires a peer's reply to equal Backplane's byte for byte, and a tampered token to be refused with 401. */
async function checkPeer (server: ServerChild, token: string, expected: string): Promise<void> {
  const same = await call(server, 'GET', ROUTE, undefined, { authorization: `Bearer ${token}` })
  if (same.status !== 200 || same.text !== expected) throw new Error(`${server.name} answered ${same.status} ${same.text}, Backplane ${expected}`)
  const refused = await call(server, 'GET', ROUTE, undefined, { authorization: `Bearer ${token.slice(0, -2)}AA` })
  if (refused.status !== 401) throw new Error(`${server.name} accepted a tampered token (${refused.status})`)
}

/**
 * startTraced starts Backplane again with the first one's settings (its secret, so it accepts the same
 * token) and database (an embedded one is locked to its process), tracing every request to the sink.
 */
async function startTraced (settings: NodeJS.ProcessEnv, databaseUrl: string, logFile: string, sink: OtlpSink): Promise<ServerChild> {
  return startServer('traced', serverScript('./backplane-server.ts'), {
    execArgv: startNodeFlags(),
    env: { ...settings, DATABASE_URL: databaseUrl, LOG_FILE: logFile, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on', OTEL_SERVICE_NAME: 'backplane-bench' }
  })
}

/**
 * tracingSummary prints the traced server's medians against Backplane untraced and the baseline on
 * GET /users/me and returns them for the results file; otelModules are what each child had loaded.
 */
function tracingSummary (summaries: TargetSummary[], sink: OtlpSink, otelModules: { backplane: number | undefined, traced: number | undefined }) {
  const of = (server: string) => summaries.find((s) => s.server === server && s.route === ROUTE)!
  const [traced, untraced, baseline] = [of('traced'), of('backplane'), of('baseline')]
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000
  const result = {
    traced,
    reqPerSecVsUntraced: ratio(traced.reqPerSec, untraced.reqPerSec),
    cpuPerRequestVsUntraced: ratio(traced.cpuUsPerRequest, untraced.cpuUsPerRequest),
    reqPerSecVsBaseline: ratio(traced.reqPerSec, baseline.reqPerSec),
    cpuPerRequestVsBaseline: ratio(traced.cpuUsPerRequest, baseline.cpuUsPerRequest),
    otelModules,
    exports: sink.exports(),
    exportedBytes: sink.bytes()
  }
  const off = otelModules.backplane === 0 ? 'no OTel module loaded' : `WARNING: ${otelModules.backplane ?? 'an unknown number of'} OpenTelemetry modules loaded`
  process.stdout.write(`\ntracing (100 % sampling to a local OTLP receiver): ${traced.reqPerSec} req/s, p99 ${traced.p99Ms} ms, ${traced.cpuUsPerRequest} µs CPU/req\n`)
  process.stdout.write(`  traced / untraced Backplane: req/s ${result.reqPerSecVsUntraced}, CPU/req ${result.cpuPerRequestVsUntraced}x; traced / baseline: req/s ${result.reqPerSecVsBaseline}, CPU/req ${result.cpuPerRequestVsBaseline}x\n`)
  process.stdout.write(`  tracing off costs nothing: ${off} in the backplane row's process once ready (no OTEL_EXPORTER_OTLP_ENDPOINT; the traced one: ${otelModules.traced ?? '?'}); ${result.exports} exports (${mb(result.exportedBytes / 1024)} MB) received\n`)
  return result
}

async function main (): Promise<void> {
  if (options.peers.length > 0) ensurePeersInstalled()
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
    const meRes = await fetch(backplane.url + ROUTE, { headers: { origin: ORIGIN, ...auth } })
    const me = { status: meRes.status, text: await meRes.text() }
    if (me.status !== 200) throw new Error(`Backplane GET ${ROUTE} answered ${me.status}: ${me.text}`)
    const projectPath = await createProject(backplane, auth)
    const project = await call(backplane, 'GET', projectPath, undefined, auth)
    if (project.status !== 200) throw new Error(`Backplane GET ${projectPath} answered ${project.status}: ${project.text}`)
    const jwks = await call(backplane, 'GET', '/.well-known/jwks.json')
    if (jwks.status !== 200) throw new Error(`Backplane GET /.well-known/jwks.json answered ${jwks.status}`)
    const databaseUrl = backplane.databaseUrl ?? database.settings.DATABASE_URL ?? ''

    const baseline = await startServer('baseline', serverScript('./auth-baseline-server.ts'), {
      env: {
        ...process.env,
        BENCH_JWKS: jwks.text,
        BENCH_ISSUER: ISSUER,
        BENCH_AUDIENCE: AUDIENCE,
        BENCH_POOL_MAX: String(POOL_MAX),
        BENCH_DATABASE_URL: databaseUrl
      }
    })
    servers.unshift(baseline)
    await checkPeer(baseline, token, me.text)
    // The peers verify an HS256 token of their own for the same user; the floor copies Backplane's reply headers.
    const hs256 = await peerAuth((JSON.parse(me.text) as { id: string }).id, ISSUER, AUDIENCE)
    const peers: ServerChild[] = []
    for (const name of options.peers) {
      const peer = await startPeer(name, { auth: hs256, databaseUrl, poolMax: POOL_MAX, floorHeaders: contractHeaders(meRes.headers), floorLog: join(logDir, 'floor.log') })
      servers.push(peer)
      peers.push(peer)
      await checkPeer(peer, hs256.token, me.text)
    }
    // The tracing run: the same server exporting every span (OTLP/HTTP protobuf, the SDK's default)
    // to a receiver in this process, so the figure is the cost of tracing, not of a network.
    const sink = options.tracing ? await startOtlpSink() : undefined
    const traced = sink ? await startTraced(settings, databaseUrl, join(logDir, 'traced.log'), sink) : undefined
    if (traced) {
      servers.push(traced)
      await checkPeer(traced, token, me.text)
    }
    process.stdout.write(`Every server answers GET ${ROUTE} with ${me.text}; Backplane also serves GET ${projectPath}\n`)
    if (options.cpus) {
      for (const server of servers) pinToCpus(server.pid, options.cpus)
      process.stdout.write(`Servers pinned to CPUs ${options.cpus}\n`)
    }
    process.stdout.write('\n')

    // Each target with its own token: Backplane's and the Ed25519 baseline's, or the peers' HS256 one.
    const headers = { origin: ORIGIN, ...auth }
    const peerHeaders = { origin: ORIGIN, authorization: `Bearer ${hs256.token}` }
    const targets: Target[] = [
      { server: baseline, route: ROUTE, headers },
      ...peers.map((server) => ({ server, route: ROUTE, headers: peerHeaders })),
      { server: backplane, route: ROUTE, headers },
      ...(traced ? [{ server: traced, route: ROUTE, headers }] : []),
      { server: backplane, route: PROJECT_ROUTE, path: projectPath, headers }
    ]
    const load = { before: loadavg()[0] ?? 0, after: 0 }
    const { runs } = await measureTargets(targets, { ...options, headers })
    const summaries = summariseTargets(runs, targets)
    const fixed: FixedRateRun[] = []
    if (options.fixedRate > 0) {
      for (const [i, target] of targets.entries()) {
        const rate = Math.max(1, Math.round(summaries[i]!.reqPerSec / 2))
        const run = await fixedRateRun(target, rate, options.fixedRate, { ...options, headers })
        fixed.push(run)
        process.stdout.write(`fixed     ${target.route.padEnd(21)} ${target.server.name.padEnd(9)} asked ${rate} req/s, got ${run.reqPerSec}  p50 ${run.p50Ms} ms  p99 ${run.p99Ms} ms  non-2xx ${run.non2xx}\n`)
      }
    }
    load.after = loadavg()[0] ?? 0
    const memory: Record<string, { rssMb: number, peakRssMb: number }> = {}
    for (const server of servers) memory[server.name] = { rssMb: mb((await statusKb(server.pid, 'VmRSS')) ?? 0), peakRssMb: mb((await statusKb(server.pid, 'VmHWM')) ?? 0) }
    await stopAll()
    // Read after stopAll: the traced server's shutdown flushes its last spans to the sink.
    await sink?.close()

    // The traced server is reported on its own (tracingSummary), not in the peers' ratio table.
    const compared = ratios(summaries.filter((s) => s.server !== 'traced'))
    const checked = [...verdicts(compared, ROUTE, PROJECT_ROUTE), ...fixedVerdict(fixed, ROUTE)]
    process.stdout.write('\n' + table(TARGETS_HEADER, targetRows(summaries)) + '\n\n' + table(RATIOS_HEADER, ratioRows(compared)) + '\n')
    if (fixed.length > 0) process.stdout.write(`\nat half of each one's median req/s, ${options.fixedRate} s each:\n` + table(FIXED_HEADER, fixedRows(fixed)) + '\n')
    process.stdout.write(`\nmedian of ${options.rounds} alternating ${options.duration} s runs, ${options.connections} connections, after a ${options.warmup} s warm-up; non-2xx and errors summed over all runs\n`)
    process.stdout.write('baseline = Fastify + jose Ed25519 + Drizzle; fastify = Fastify + Drizzle prepared statement + jose HS256; floor = fastify + Backplane\'s response headers + a pino line a request; express = Express 5; nest = NestJS (Express platform); all peers verify the token on every request\n')
    process.stdout.write('req/s ratio = Backplane/other throughput; CPU/req ratio = Backplane/other CPU time per request (server process, all threads)\n')
    for (const v of checked) process.stdout.write(`target (issue ${v.issue}): ${v.target}: ${v.met ? 'met' : 'MISSED'} (${v.measured})\n`)
    process.stdout.write(`load average (1 min) before ${load.before.toFixed(2)}, after ${load.after.toFixed(2)} on ${machine().cpus} CPUs${load.before > 1 ? ' (the machine was busy before the run: trust CPU/req more than req/s)' : ''}\n`)
    const tracing = sink && traced ? tracingSummary(summaries, sink, { backplane: backplane.otelModules, traced: traced.otelModules }) : undefined
    warnNon2xx(runs)
    process.stdout.write(`RSS after the runs (MB): ${Object.entries(memory).map(([name, m]) => `${name} ${m.rssMb} (peak ${m.peakRssMb})`).join(', ')}\n`)

    const file = await writeResult('auth', {
      kind: 'auth',
      date: new Date().toISOString(),
      machine: machine(),
      source: sourceState(),
      options,
      peers: options.peers.length > 0 ? peerVersions() : {},
      database: database.mode,
      loadAverage: load,
      summaries,
      ratios: compared,
      verdicts: checked,
      fixedRate: fixed,
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
