import { summariseRuns, type FixedRateRun, type RouteSummary, type Run, type Target } from './load.ts'

/** TargetSummary is the median of one target's runs (non-2xx and errors summed). */
export interface TargetSummary extends RouteSummary { server: string, route: string }

/** summariseTargets gives each target (server + route) the median of its runs. */
export function summariseTargets (runs: Run[], targets: Target[]): TargetSummary[] {
  return targets.map(({ server, route }) => ({
    server: server.name,
    route,
    ...summariseRuns(runs.filter((r) => r.route === route && r.server === server.name))
  }))
}

/** TARGETS_HEADER is the header of the per-server table. */
export const TARGETS_HEADER = ['server', 'route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'CPU µs/req']

/** targetRows are the per-server table's rows. */
export function targetRows (summaries: TargetSummary[]): Array<Array<string | number>> {
  return summaries.map((s) => [s.server, s.route, s.reqPerSec, s.p50Ms, s.p99Ms, s.non2xx, s.errors, s.cpuUsPerRequest])
}

/** Ratio is Backplane on one route against one other server: throughput and CPU per request. */
export interface Ratio { route: string, against: string, reqPerSec: number, cpu: number }

const round3 = (n: number) => Math.round(n * 1000) / 1000

/** ratios compares each of Backplane's targets with every other server's. */
export function ratios (summaries: TargetSummary[], backplane = 'backplane'): Ratio[] {
  const others = summaries.filter((s) => s.server !== backplane)
  return summaries.filter((s) => s.server === backplane).flatMap((b) => others.map((o) => ({
    route: b.route,
    against: o.server,
    reqPerSec: round3(b.reqPerSec / o.reqPerSec),
    cpu: round3(b.cpuUsPerRequest / o.cpuUsPerRequest)
  })))
}

/** RATIOS_HEADER is the header of the ratio table. */
export const RATIOS_HEADER = ['backplane route', 'against', 'req/s ratio', 'CPU/req ratio']

/** ratioRows are the ratio table's rows. */
export function ratioRows (list: Ratio[]): Array<Array<string | number>> {
  return list.map((r) => [r.route, r.against, r.reqPerSec.toFixed(3), `${r.cpu.toFixed(2)}x`])
}

/** Verdict is one target of an issue checked against a ratio of this run. */
export interface Verdict { issue: number, target: string, measured: number, met: boolean }

/**
 * verdicts checks the targets of issues 3 and 13 that this run measures, for the ratios present:
 * `route` is Backplane's users/me route, `projectRoute` its project read.
 */
export function verdicts (list: Ratio[], route: string, projectRoute: string): Verdict[] {
  const wanted: Array<{ issue: number, route: string, against: string, min: number, label: string }> = [
    { issue: 3, route, against: 'baseline', min: 0.7, label: `${route} >= 0.70 of the Ed25519 baseline's req/s` },
    { issue: 13, route, against: 'fastify', min: 0.7, label: `${route} >= 0.70 of Fastify + Drizzle's req/s` },
    { issue: 13, route, against: 'floor', min: 0.85, label: `${route} >= 0.85 of the floor's req/s` },
    { issue: 13, route, against: 'nest', min: 1.5, label: `${route} >= 1.5x NestJS's req/s` },
    { issue: 13, route: projectRoute, against: 'fastify', min: 0.6, label: `${projectRoute} >= 0.60 of Fastify + Drizzle's req/s` }
  ]
  return wanted.flatMap((w) => {
    const r = list.find((x) => x.route === w.route && x.against === w.against)
    return r ? [{ issue: w.issue, target: w.label, measured: r.reqPerSec, met: r.reqPerSec >= w.min }] : []
  })
}

/** FIXED_HEADER is the header of the fixed-rate table. */
export const FIXED_HEADER = ['server', 'route', 'rate asked', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors']

/** fixedRows are the fixed-rate table's rows. */
export function fixedRows (runs: FixedRateRun[]): Array<Array<string | number>> {
  return runs.map((r) => [r.server, r.route, r.targetRate, r.reqPerSec, r.p50Ms, r.p99Ms, r.non2xx, r.errors])
}

/** FIXED_P99_MS is issue 13's bound on Backplane's p99 at half its peak rate. */
export const FIXED_P99_MS = 10

/** fixedVerdict checks Backplane's p99 on a route at half its peak rate against FIXED_P99_MS, when that run was made. */
export function fixedVerdict (runs: FixedRateRun[], route: string, backplane = 'backplane'): Verdict[] {
  const run = runs.find((r) => r.server === backplane && r.route === route)
  return run ? [{ issue: 13, target: `${route} p99 at half of Backplane's peak <= ${FIXED_P99_MS} ms`, measured: run.p99Ms, met: run.p99Ms <= FIXED_P99_MS }] : []
}
