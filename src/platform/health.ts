import fp from 'fastify-plugin'
import { Type } from 'typebox'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * addReadinessCheck lets a platform plugin (cache, queue…) join `/health/ready`. A check with
     * `critical: false` guards something the node can run without (it degrades instead): its failure
     * is reported, but readiness stays 200 with status `degraded`.
     */
    addReadinessCheck: (name: string, check: () => Promise<void>, options?: ReadinessCheckOptions) => void
    /** readiness runs every readiness check now (each bounded to a second) and says what `/health/ready` would. */
    readiness: () => Promise<ReadinessReport>
  }
}

/** ReadinessReport is each check's result and latency, which checks are not critical, and the overall status. */
export interface ReadinessReport {
  status: 'ok' | 'degraded' | 'unavailable' | 'draining'
  checks: Record<string, { status: 'ok' | 'fail', ms: number }>
  nonCritical: string[]
  /** breakers names each dependency whose circuit breaker is not closed (absent when all are). */
  breakers?: Record<string, 'open' | 'half-open' | 'closed'>
}

/** ReadinessCheckOptions says whether a failing check takes the node out of service (the default). */
export interface ReadinessCheckOptions { critical?: boolean }

const CHECK_TIMEOUT_MS = 1000

async function timed (check: () => Promise<void>): Promise<{ status: 'ok' | 'fail', ms: number }> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check(),
      new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('timeout')) }, CHECK_TIMEOUT_MS) })
    ])
    return { status: 'ok', ms: Math.round(performance.now() - started) }
  } catch {
    return { status: 'fail', ms: Math.round(performance.now() - started) }
  } finally {
    clearTimeout(timer)
  }
}

const CheckSchema = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('fail')]), ms: Type.Integer() })
const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unavailable'), Type.Literal('draining')]),
  checks: Type.Record(Type.String(), CheckSchema),
  /** breakers names each dependency whose circuit breaker is not closed (absent when all are). */
  breakers: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Literal('open'), Type.Literal('half-open'), Type.Literal('closed')])))
})

/**
 * health serves `/health/live` (the process answers) and `/health/ready` (every dependency answers
 * within a second; 503 naming the failed check, or while draining; 200 `degraded` when only
 * non-critical checks fail or a circuit breaker is open, naming it under `breakers`). Both are cheap, unauthenticated and exempt from rate limits.
 */
export default fp(async function health (app) {
  const checks = new Map<string, () => Promise<void>>()
  const nonCritical = new Set<string>()
  app.decorate('addReadinessCheck', (name: string, check: () => Promise<void>, options: ReadinessCheckOptions = {}) => {
    checks.set(name, check)
    if (options.critical === false) nonCritical.add(name)
    else nonCritical.delete(name)
  })
  app.addReadinessCheck('database', async () => { await app.dbPool.query('SELECT 1') })
  app.decorate('readiness', async (): Promise<ReadinessReport> => {
    const results = Object.fromEntries(await Promise.all([...checks].map(async ([name, check]) => [name, await timed(check)] as const)))
    const failed = Object.entries(results).filter(([, r]) => r.status === 'fail').map(([name]) => name)
    const critical = failed.some((name) => !nonCritical.has(name))
    // A breaker that is not closed means calls to that dependency are being refused or probed.
    const breakers = app.breakers.notClosed()
    const tripped = Object.keys(breakers).length > 0
    const status = app.lifecycle.draining ? 'draining' : critical ? 'unavailable' : failed.length > 0 || tripped ? 'degraded' : 'ok'
    return { status, checks: results, nonCritical: [...nonCritical], ...(tripped ? { breakers } : {}) }
  })

  // Probes are frequent and uninteresting when they succeed: no request line below 500. (A route
  // log level would do the same at the cost of rebuilding every request's logger methods.)
  const common = { config: { rateLimit: false, requestLog: 'errors' as const } }
  app.get('/health/live', {
    ...common,
    schema: { tags: ['health'], operationId: 'healthLive', summary: 'Liveness: the process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    ...common,
    schema: { tags: ['health'], operationId: 'healthReady', summary: 'Readiness: every dependency answers', response: { 200: ReadySchema, 503: ReadySchema } }
  }, async (_request, reply) => {
    const { status, checks: results, breakers } = await app.readiness()
    return reply.code(status === 'ok' || status === 'degraded' ? 200 : 503).send({ status, checks: results, ...(breakers ? { breakers } : {}) })
  })
}, { name: 'health', dependencies: ['db', 'lifecycle', 'breakers'] })
