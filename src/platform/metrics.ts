import fp from 'fastify-plugin'
import { timingSafeEqual } from 'node:crypto'
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client'
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

/** metrics serves `/metrics` (Prometheus text) with request durations by route, status and frontend, event-loop delay and memory. */
export default fp(async function metrics (app) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route, status and registered frontend (empty without a frontend key)',
    labelNames: ['method', 'route', 'status_code', 'frontend'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  app.decorate('metrics', registry)

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
    return registry.metrics()
  })
}, { name: 'metrics', dependencies: ['errors'] })
