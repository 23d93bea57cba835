import fp from 'fastify-plugin'
import { brokerNames } from './namespace.ts'
import type { Database } from './db.ts'
import { tracing } from './tracing.ts'
import { validate as isUuid } from 'uuid'
import { QUEUE_DEFAULTS, assertJobName, checkCount, checkPolicy, errorMessage, isJobName, jobIdFor, type DefineOptions, type JobDefinition, type JobHandler, type JobOptions, type JobQueue, type OutgoingJob, type QueueBackend, type RetryPolicy, type SendManyJob } from './queue-port.ts'

// The port's types and helpers, for the modules that import them from here.
export * from './queue-port.ts'

// The most jobs one sendMany takes: one statement, well under PostgreSQL's 65,535 parameters.
const MAX_SEND_MANY = 1000

/**
 * createJobQueue wraps a backend with the port's bookkeeping: validated names and options, the
 * definitions, defaults (define() over QUEUE_DEFAULTS, a send's options over both) and an
 * idempotent start.
 */
export function createJobQueue (backend: QueueBackend, settings: { concurrency: number, stopTimeoutMs: number }): JobQueue {
  const definitions = new Map<string, JobDefinition>()
  let started: Promise<void> | undefined
  // A send's options checked and filled in from define() and QUEUE_DEFAULTS, as the backend stores it.
  const outgoing = (name: string, data: unknown, options: JobOptions): OutgoingJob => {
    checkPolicy(options)
    if (options.id !== undefined && (options.id.length === 0 || options.id.length > 200)) throw new Error('a job id must be 1-200 characters')
    if (options.startAfter !== undefined && Number.isNaN(options.startAfter.getTime())) throw new Error('startAfter must be a valid date')
    const defaults = definitions.get(name) ?? QUEUE_DEFAULTS
    const policy: RetryPolicy = {
      retryLimit: options.retryLimit ?? defaults.retryLimit,
      retryDelaySeconds: options.retryDelaySeconds ?? defaults.retryDelaySeconds,
      retryBackoff: options.retryBackoff ?? defaults.retryBackoff
    }
    const id = options.id === undefined ? undefined : jobIdFor(name, options.id)
    return { name, id, data: data ?? null, policy, startAfter: options.startAfter, trace: tracing.capture() }
  }
  return {
    kind: backend.kind,
    define<T> (name: string, handler: JobHandler<T>, options: DefineOptions = {}) {
      assertJobName(name)
      if (definitions.has(name)) throw new Error(`job "${name}" is already defined`)
      checkPolicy(options)
      checkCount(options.concurrency, 'concurrency', 1, 1000)
      const definition: JobDefinition = {
        name,
        // The backend hands over the stored data; its shape is the sender's contract with this handler.
        handler: handler as JobHandler,
        concurrency: options.concurrency ?? settings.concurrency,
        retryLimit: options.retryLimit ?? QUEUE_DEFAULTS.retryLimit,
        retryDelaySeconds: options.retryDelaySeconds ?? QUEUE_DEFAULTS.retryDelaySeconds,
        retryBackoff: options.retryBackoff ?? QUEUE_DEFAULTS.retryBackoff
      }
      definitions.set(name, definition)
      if (started) started = started.then(() => backend.start([definition]))
    },
    async send<T> (name: string, data: T, options: JobOptions = {}, tx?: Database) {
      assertJobName(name)
      return backend.send(outgoing(name, data, options), tx)
    },
    async sendMany<T> (name: string, jobs: Array<SendManyJob<T>>, tx?: Database) {
      assertJobName(name)
      checkCount(jobs.length, 'a sendMany batch', 0, MAX_SEND_MANY)
      if (jobs.length === 0) return []
      const out = jobs.map((job) => ({ ...outgoing(name, job.data, job.options ?? {}), ...(job.trace !== undefined ? { trace: job.trace } : {}) }))
      const ids = out.flatMap((job) => job.id === undefined ? [] : [job.id])
      if (new Set(ids).size !== ids.length) throw new Error('the jobs of one sendMany must have different ids')
      return backend.sendMany(out, tx)
    },
    start () {
      started ??= backend.start([...definitions.values()])
      return started
    },
    async stop () {
      if (!started) return
      await started.catch(() => {})
      await backend.stop(settings.stopTimeoutMs)
    },
    stats: () => backend.stats([...definitions.values()]),
    async deadLetters (name, limit = 20) {
      if (!isJobName(name)) return []
      return backend.deadLetters(name, Math.min(Math.max(1, Math.trunc(limit)), 100))
    },
    async retryDeadLetter (name, id) {
      if (!isJobName(name) || !isUuid(id)) return false
      return backend.retryDeadLetter(name, id.toLowerCase())
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** queue is the job queue port: pg-boss in the app database, or RabbitMQ when AMQP_URL is set. */
    queue: JobQueue
  }
}

/**
 * queue picks the adapter once: RabbitMQ when AMQP_URL is set, otherwise pg-boss on the app's
 * own database pool. Nothing connects until the first use, so an app that never sends pays
 * nothing; workers start when the server listens and drain when it closes.
 */
export default fp(async function queue (app) {
  const log = app.log.child({ module: 'queue' })
  const { amqpUrl, concurrency } = app.config.queue
  let backend: QueueBackend
  if (amqpUrl) {
    const { createAmqpQueue } = await import('./adapters/amqp-queue.ts')
    // Failed reconnections open the `amqp` breaker: callers then get their 503 at once, and readiness names it.
    const breaker = app.breakers.create('amqp', { counts: () => true, threshold: 3, halfOpenAfterMs: 1000 })
    backend = createAmqpQueue({ url: amqpUrl, db: app.db, log, names: brokerNames(app.config.namespace), breaker })
  } else {
    // pg-boss keeps its queues in the app's own database (schema pgboss): a deployment's database
    // is its own, so BACKPLANE_NAMESPACE has nothing to separate there.
    const { createPgBossQueue } = await import('./adapters/pg-boss-queue.ts')
    backend = createPgBossQueue({ pool: app.dbPool, log })
  }
  // Half the shutdown budget: the HTTP drain and the database close need the rest.
  const jobQueue = createJobQueue(backend, { concurrency, stopTimeoutMs: Math.floor(app.config.shutdown.timeout / 2) })
  app.decorate('queue', jobQueue)
  // pg-boss lives in the app database, which readiness already checks; RabbitMQ is a dependency of its own.
  if (backend.kind === 'amqp') app.addReadinessCheck('queue', backend.check)
  app.addHook('onListen', async () => {
    jobQueue.start().catch((err: unknown) => { log.error({ err: { message: errorMessage(err) } }, 'job workers did not start') })
  })
  // Workers stop first (preClose), while the mailer, the other modules and the pool a running
  // job may need are all still open; sends keep working until the adapter closes in onClose,
  // which runs before the database plugin's (onClose is last-in, first-out).
  app.addHook('preClose', async () => {
    await jobQueue.stop().catch((err: unknown) => { log.warn({ err: { message: errorMessage(err) } }, 'job workers did not stop cleanly') })
  })
  app.addHook('onClose', async () => { await backend.close() })
}, { name: 'queue', dependencies: ['db', 'health', 'breakers'] })
