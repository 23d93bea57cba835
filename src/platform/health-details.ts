import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { Type, type Static } from 'typebox'
import { version } from '../lib/version.ts'
import { platformErrors, sendProblem } from './errors.ts'
import { tokenMatches } from './metrics.ts'
import { migrationsFolder } from './migrate.ts'
import { tracing } from './tracing.ts'

/** HealthDetailsSchema is the detailed health view: every dependency's state and latency, and what this node runs. */
export const HealthDetailsSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unavailable'), Type.Literal('draining')]),
  checks: Type.Record(Type.String({ maxLength: 100 }), Type.Object({
    status: Type.Union([Type.Literal('ok'), Type.Literal('fail')]),
    ms: Type.Integer(),
    critical: Type.Boolean()
  })),
  version: Type.String(),
  node: Type.Object({
    id: Type.String({ description: 'host name and process id of the process that answered' }),
    pid: Type.Integer(),
    clusterWorker: Type.Union([Type.Integer(), Type.Null()], { description: 'this process\'s worker number when started as one of several workers, else null' }),
    startedAt: Type.String({ format: 'date-time' }),
    uptimeSeconds: Type.Integer(),
    nodeVersion: Type.String()
  }),
  queue: Type.Union([Type.Literal('pg-boss'), Type.Literal('amqp')]),
  tracing: Type.Boolean({ description: 'traces are exported (an OTLP endpoint is configured)' }),
  migrations: Type.Object({
    applied: Type.Integer(),
    expected: Type.Integer({ description: 'migrations this release ships' }),
    latest: Type.Union([Type.String(), Type.Null()], { description: 'the newest migration this release ships' })
  })
}, { additionalProperties: false })

/** HealthDetails is the detailed health view. */
export type HealthDetails = Static<typeof HealthDetailsSchema>

declare module 'fastify' {
  interface FastifyInstance {
    /** healthDetails builds the detailed health view (for admins and METRICS_TOKEN holders only). */
    healthDetails: () => Promise<HealthDetails>
  }
}

const startedAt = new Date(Date.now() - Math.round(process.uptime() * 1000))

function shippedMigrations (): string[] {
  try {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }
    return journal.entries.map((e) => e.tag)
  } catch {
    return []
  }
}

/**
 * healthDetails decorates `app.healthDetails` and serves it at `/health/details` to holders of
 * METRICS_TOKEN (the scraper's credential; a 404 to anyone else, and no route without a token);
 * admins read the same at `/api/v1/admin/health`. Never public: it names versions and hosts.
 */
export default fp(async function healthDetails (app) {
  const shipped = shippedMigrations()
  app.decorate('healthDetails', async (): Promise<HealthDetails> => {
    const [ready, applied] = await Promise.all([
      app.readiness(),
      app.dbPool.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations').then((r) => r.rows[0]?.n ?? 0, () => -1)
    ])
    const checks = Object.fromEntries(Object.entries(ready.checks).map(([name, c]) => [name, { ...c, critical: !ready.nonCritical.includes(name) }]))
    return {
      status: ready.status,
      checks,
      version,
      node: {
        id: `${hostname()}:${process.pid}`,
        pid: process.pid,
        clusterWorker: cluster.worker?.id ?? null,
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.floor(process.uptime()),
        nodeVersion: process.versions.node
      },
      queue: app.queue.kind,
      tracing: tracing.enabled,
      migrations: { applied, expected: shipped.length, latest: shipped.at(-1) ?? null }
    }
  })
  // What /health/ready would answer, as a metric: alerts see a node that is up but out of service.
  app.metrics.registerMetric(new Gauge({
    name: 'backplane_ready',
    help: '1 while this node is ready (status ok or degraded), 0 while unavailable or draining',
    registers: [],
    async collect () {
      const { status } = await app.readiness()
      this.set(status === 'ok' || status === 'degraded' ? 1 : 0)
    }
  }))
  const token = app.config.metrics.token
  if (!token) return
  app.get('/health/details', {
    config: { rateLimit: false, requestLog: 'errors' as const },
    schema: { hide: true, response: { 200: HealthDetailsSchema } }
  }, async (request, reply) => {
    if (!tokenMatches(request.headers.authorization, token)) return sendProblem(reply, platformErrors.NOT_FOUND(`No route for GET ${request.url.split('?')[0]}`))
    return app.healthDetails()
  })
}, { name: 'health-details', dependencies: ['health', 'db', 'queue', 'errors', 'metrics'] })
