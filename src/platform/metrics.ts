import fp from 'fastify-plugin'
import { timingSafeEqual } from 'node:crypto'
import { AggregatorRegistry, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { platformErrors, sendProblem } from './errors.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** metrics is this app's Prometheus registry; modules add their own collectors to it. */
    metrics: Registry
  }
}

/** tokenMatches checks `Authorization: Bearer <token>` against a configured token in constant time. */
export function tokenMatches (header: string | undefined, token: string): boolean {
  // Only `Authorization: Bearer <token>`: a bare token or another scheme is refused.
  const match = /^Bearer (.+)$/i.exec(header ?? '')
  if (!match?.[1]) return false
  const given = Buffer.from(match[1])
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

const DEFAULT_GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** metrics serves `/metrics` (Prometheus text) with request durations by route, status and frontend, event-loop delay and memory. */
export default fp(async function metrics (app) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  // prom-client names three gauges `…_total`, a suffix Prometheus keeps for counters: `promtool check
  // metrics` fails on them and recording rules treat them as counters. The per-type gauges beside
  // them (`nodejs_active_handles{type}` …) hold the same numbers; `sum()` of those is the total.
  for (const name of DEFAULT_GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name)
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route, status and registered frontend (empty without a frontend key)',
    labelNames: ['method', 'route', 'status_code', 'frontend'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  app.decorate('metrics', registry)
  const { siblings } = app
  if (siblings) {
    // A worker process: the primary collects every worker's registry (prom-client's aggregator
    // asks each over IPC), so any worker's /metrics shows the whole group.
    // Constructing one in a worker installs prom-client's answer to the primary's requests.
    new AggregatorRegistry() // eslint-disable-line no-new
    AggregatorRegistry.setRegistries([registry])
  }

  // One child per label set, found by a flat string key: `observe(labels, value)` would hash the
  // labels object (sorting its keys) on every request.
  const series = new Map<string, Histogram.Internal<'method' | 'route' | 'status_code' | 'frontend'>>()
  app.addHook('onResponse', (request, reply, done) => {
    // Unmatched URLs share one label so a scanner cannot blow up the series count.
    const route = request.routeOptions.url ?? 'unmatched'
    // Frontend names come from the registry (bounded), never from what a client sends.
    const frontend = request.frontend ?? ''
    const status = reply.statusCode
    const key = `${request.method} ${status} ${frontend} ${route}`
    let child = series.get(key)
    if (child === undefined) {
      child = duration.labels({ method: request.method, route, status_code: status, frontend })
      series.set(key, child)
    }
    child.observe(reply.elapsedTime / 1000)
    done()
  })

  const { enabled, token } = app.config.metrics
  if (!enabled) return
  app.get('/metrics', { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
    if (token && !tokenMatches(request.headers.authorization, token)) {
      return sendProblem(reply, platformErrors.NOT_FOUND(`No route for GET ${request.url.split('?')[0]}`))
    }
    reply.type(registry.contentType)
    return siblings ? siblings.ask<string>('metrics', null, 5000) : registry.metrics()
  })
}, { name: 'metrics', dependencies: ['errors'] })
