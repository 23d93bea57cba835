import autocannon from 'autocannon'
import { setTimeout as sleep } from 'node:timers/promises'
import { pacedLoad } from './paced-load.ts'
import { cpuTimes } from './proc.ts'
import { median } from './report.ts'
import type { ServerChild } from './servers.ts'

/** LoadOptions are the autocannon settings every measured run of a benchmark shares. */
export interface LoadOptions {
  duration: number
  connections: number
  warmup: number
  rounds: number
  /** headers are sent with every request (Origin, Authorization…). */
  headers: Record<string, string>
}

/** Run is one measured autocannon run against one server. */
export interface Run {
  route: string
  server: string
  round: number
  reqPerSec: number
  requests: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  /** statuses counts the replies by status code. */
  statuses: Record<string, number>
  errors: number
  timeouts: number
  /** CPU time the server process (all threads) used per request: robust when other work shares the machine. */
  cpuUsPerRequest: number
  /** The share of that CPU time spent in the kernel (socket writes, futex wake-ups of the log worker…). */
  systemShare: number
  /** CPU the server process used, in cores (1 = one core busy all the run). */
  serverCores: number
}

/** load drives one URL with autocannon for a number of seconds. */
export async function load (url: string, seconds: number, options: LoadOptions): Promise<autocannon.Result> {
  return autocannon({ url, connections: options.connections, duration: seconds, headers: options.headers })
}

/** loadRun measures one server on one route (at path, when the route is a pattern) for options.duration seconds, with its CPU time from /proc. */
export async function loadRun (server: ServerChild, route: string, round: number, options: LoadOptions, path = route): Promise<Run> {
  const before = await cpuTimes(server.pid)
  const r = await load(server.url + path, options.duration, options)
  const after = await cpuTimes(server.pid)
  const system = after.system - before.system
  const cpu = after.user - before.user + system
  return {
    route,
    server: server.name,
    round,
    reqPerSec: Math.round(r.requests.average),
    requests: r.requests.total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    statuses: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0])),
    errors: r.errors,
    timeouts: r.timeouts,
    cpuUsPerRequest: Math.round((cpu * 1e6) / Math.max(r.requests.total, 1)),
    systemShare: cpu > 0 ? Math.round((system / cpu) * 100) / 100 : 0,
    serverCores: Math.round((cpu / r.duration) * 100) / 100
  }
}

/**
 * Target is one server on one route: what a measured run drives, with its own headers if it needs
 * other ones; route names it in the figures (`/api/v1/projects/:id`), path is the URL path when it differs.
 */
export interface Target { server: ServerChild, route: string, path?: string, headers?: Record<string, string> }

/**
 * measureTargets warms each target up, then runs options.rounds rounds alternating the targets in
 * the order given, printing each run; it returns the runs and the warm-up request counts by server.
 */
export async function measureTargets (targets: Target[], options: LoadOptions): Promise<{ runs: Run[], warmupRequests: Record<string, number> }> {
  const runs: Run[] = []
  const warmupRequests: Record<string, number> = {}
  const width = Math.max(9, ...targets.map((t) => t.server.name.length))
  if (options.warmup > 0) {
    for (const { server, route, path, headers } of targets) {
      const r = await load(server.url + (path ?? route), options.warmup, { ...options, headers: headers ?? options.headers })
      warmupRequests[server.name] = (warmupRequests[server.name] ?? 0) + r.requests.total
      process.stdout.write(`warm-up   ${route.padEnd(21)} ${server.name.padEnd(width)} ${Math.round(r.requests.average)} req/s  non-2xx ${r.non2xx}\n`)
    }
  }
  for (let round = 1; round <= options.rounds; round++) {
    for (const { server, route, path, headers } of targets) {
      await sleep(500) // let the previous run's sockets close
      const run = await loadRun(server, route, round, { ...options, headers: headers ?? options.headers }, path)
      runs.push(run)
      process.stdout.write(`round ${round}   ${route.padEnd(21)} ${server.name.padEnd(width)} ${run.reqPerSec} req/s  p50 ${run.p50Ms} ms  p99 ${run.p99Ms} ms  non-2xx ${run.non2xx}  ${run.cpuUsPerRequest} µs CPU/req (${Math.round(run.systemShare * 100)}% system, ${run.serverCores} cores)\n`)
    }
  }
  return { runs, warmupRequests }
}

/** measureRoute is measureTargets for several servers on one route. */
export async function measureRoute (servers: ServerChild[], route: string, options: LoadOptions): Promise<{ runs: Run[], warmupRequests: Record<string, number> }> {
  return measureTargets(servers.map((server) => ({ server, route })), options)
}

/** FixedRateRun is one run at a fixed overall request rate: the latency a server gives below its peak. */
export interface FixedRateRun { route: string, server: string, targetRate: number, reqPerSec: number, p50Ms: number, p99Ms: number, non2xx: number, errors: number }

/**
 * fixedRateRun drives a target at `rate` requests a second for `seconds`, evenly paced and open loop
 * (paced-load.ts: autocannon's overallRate sends each second's requests in one burst).
 */
export async function fixedRateRun ({ server, route, path, headers }: Target, rate: number, seconds: number, options: LoadOptions): Promise<FixedRateRun> {
  const r = await pacedLoad(server.url + (path ?? route), { rate, seconds, connections: options.connections, headers: headers ?? options.headers })
  return { route, server: server.name, targetRate: rate, reqPerSec: r.reqPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, non2xx: r.non2xx, errors: r.errors }
}

/** RouteSummary is the median of one server's runs on one route (non-2xx and errors summed). */
export interface RouteSummary { reqPerSec: number, p50Ms: number, p99Ms: number, non2xx: number, errors: number, cpuUsPerRequest: number }

/** summariseRuns gives the median of one server's runs on one route (the runs of that server and route only). */
export function summariseRuns (mine: Run[]): RouteSummary {
  return {
    reqPerSec: Math.round(median(mine.map((r) => r.reqPerSec))),
    p50Ms: median(mine.map((r) => r.p50Ms)),
    p99Ms: median(mine.map((r) => r.p99Ms)),
    non2xx: mine.reduce((n, r) => n + r.non2xx, 0),
    errors: mine.reduce((n, r) => n + r.errors + r.timeouts, 0),
    cpuUsPerRequest: Math.round(median(mine.map((r) => r.cpuUsPerRequest)))
  }
}

/** summariseRoute compares Backplane with the baseline on one route: medians, req/s ratio and CPU/req ratio. */
export function summariseRoute (runs: Run[], route: string) {
  const of = (server: string): RouteSummary => summariseRuns(runs.filter((r) => r.route === route && r.server === server))
  const baseline = of('baseline')
  const backplane = of('backplane')
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000
  return { route, baseline, backplane, ratio: ratio(backplane.reqPerSec, baseline.reqPerSec), cpuRatio: ratio(backplane.cpuUsPerRequest, baseline.cpuUsPerRequest) }
}

/** RouteComparison is what summariseRoute returns. */
export type RouteComparison = ReturnType<typeof summariseRoute>

/** HEADER is the comparison table's header row. */
export const HEADER = ['route', 'server', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'CPU µs/req', 'req/s ratio', 'CPU/req ratio']

/** comparisonRows are the table rows of one route: the baseline, then Backplane with the ratios. */
export function comparisonRows (s: RouteComparison): Array<Array<string | number>> {
  return [
    [s.route, 'baseline', s.baseline.reqPerSec, s.baseline.p50Ms, s.baseline.p99Ms, s.baseline.non2xx, s.baseline.errors, s.baseline.cpuUsPerRequest, '', ''],
    [s.route, 'backplane', s.backplane.reqPerSec, s.backplane.p50Ms, s.backplane.p99Ms, s.backplane.non2xx, s.backplane.errors, s.backplane.cpuUsPerRequest, s.ratio.toFixed(3), `${s.cpuRatio.toFixed(2)}x`]
  ]
}

/** warnNon2xx prints a WARNING for every run that got a non-2xx reply. */
export function warnNon2xx (runs: Run[]): void {
  for (const run of runs.filter((r) => r.non2xx > 0)) {
    process.stdout.write(`WARNING: ${run.server} ${run.route} round ${run.round} answered ${JSON.stringify(run.statuses)}: the figures for it do not measure successful requests\n`)
  }
}
