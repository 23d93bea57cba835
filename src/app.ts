import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import compress from '@fastify/compress'
import type { DestinationStream, Logger } from 'pino'
import type { Config } from './config.ts'
import { isWellFormedRequestId, newId } from './lib/ids.ts'
import { createLogger } from './platform/logging.ts'
import { schemaCompilers } from './platform/validation.ts'
import errors, { handleFrameworkError } from './platform/errors.ts'
import corsOrigins from './platform/cors-origins.ts'
import security from './platform/security.ts'
import traceContext from './platform/trace-context.ts'
import requestLog from './platform/request-log.ts'
import breakers from './platform/breakers.ts'
import db from './platform/db.ts'
import health from './platform/health.ts'
import healthDetails from './platform/health-details.ts'
import bodyTimeout from './platform/body-timeout.ts'
import lifecycle from './platform/lifecycle.ts'
import metrics from './platform/metrics.ts'
import operationsMetrics from './platform/operations-metrics.ts'
import openapi from './platform/openapi.ts'
import cache from './platform/cache.ts'
import queue from './platform/queue.ts'
import pubsub from './platform/pubsub.ts'
import events from './platform/events.ts'
import rbac from './platform/rbac.ts'
import securityEvents from './platform/security-events.ts'
import auth from './platform/auth.ts'
import frontendContext from './platform/frontend-context.ts'
import rateLimit from './platform/rate-limit.ts'
import mailer, { type Mailer } from './platform/mailer.ts'
import type { BackplaneModule } from './platform/modules.ts'
import type { Siblings } from './platform/siblings.ts'
import { builtinModules } from './modules/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** config is the validated, frozen settings the app was built with. */
    config: Config
    /** modules lists the modules this app was built with, in order. */
    modules: readonly BackplaneModule[]
    /** siblings links a worker process to the other workers of its machine (`--workers N`); null otherwise. */
    siblings: Siblings | null
  }
}

/** AppOverrides swaps what a test or an embedding program needs to control. */
export interface AppOverrides {
  /** databaseUrl is required unless config.db.url is set (the embedded server's URL is passed here). */
  databaseUrl?: string
  /** modules are a team's own modules, registered after the built-in ones. */
  modules?: readonly BackplaneModule[]
  /** logStream receives the JSON log lines instead of stdout (tests read it). */
  logStream?: DestinationStream
  /** logger is an already built logger (the server shares one with the embedded database). */
  logger?: Logger
  /** mailer replaces the mail adapter (tests capture mail with it). */
  mailer?: Mailer
  /** siblings is set in a worker process: pub/sub, cache bus, rate limits and metrics then span its machine's workers. */
  siblings?: Siblings
}

/**
 * connectionsCheckingInterval is how often Node looks for sockets past their headers or request
 * timeout: a quarter of the headers timeout (250 ms to 1 s), so a slow-header socket is closed
 * within that margin of HEADERS_TIMEOUT_MS. The check walks the open connections, hence the floor.
 */
export function connectionsCheckingInterval (headersTimeout: number): number {
  return Math.min(1000, Math.max(250, Math.floor(headersTimeout / 4)))
}

/**
 * buildApp is the one composition root: platform plugins, then modules, in an explicit order.
 * It opens no connection until the first query; `server.ts` adds listening and shutdown.
 */
export async function buildApp (config: Config, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const url = overrides.databaseUrl ?? config.db.url
  if (!url) throw new Error('buildApp needs a database URL: set DATABASE_URL or pass overrides.databaseUrl')
  const logger: FastifyBaseLogger = overrides.logger ?? createLogger(config, overrides.logStream)
  const app = Fastify({
    loggerInstance: logger,
    // One line per request comes from platform/request-log; Fastify's own two lines are off.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return isWellFormedRequestId(given) ? given : newId()
    },
    // Node enforces headersTimeout/requestTimeout only when its connection check runs, every 30 s by
    // default: a slow-header socket lived up to 40 s with a 10 s headers timeout (HT-02).
    http: { connectionsCheckingInterval: connectionsCheckingInterval(config.http.headersTimeout) },
    bodyLimit: config.http.bodyLimit,
    // The longest any route may take to receive its request: uploads bound themselves (FILES_UPLOAD_*),
    // every other body is held to REQUEST_TIMEOUT_MS by platform/body-timeout.ts (HT-02).
    requestTimeout: Math.max(config.http.requestTimeout, config.files.uploadTimeoutMs),
    keepAliveTimeout: config.http.keepAliveTimeout,
    trustProxy: config.http.trustProxy.length > 0 ? config.http.trustProxy : false,
    // A request that reaches a closing node on a connection it accepted is served (with Connection:
    // close): a 503 to a POST is a failed write nobody can retry. The lifecycle plugin refuses the
    // retryable ones with 503 meanwhile (platform/lifecycle.ts).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
    // Malformed URLs and over-long params are answered before any hook: keep the baseline there too.
    frameworkErrors: handleFrameworkError,
    schemaController: { compilersFactory: schemaCompilers(config.http.schemaCompile) }
  })
  app.server.headersTimeout = config.http.headersTimeout
  app.decorate('config', config)
  app.decorate('siblings', overrides.siblings ?? null)

  await app.register(errors)
  await app.register(traceContext)
  await app.register(lifecycle)
  await app.register(bodyTimeout)
  await app.register(corsOrigins)
  await app.register(security)
  // Replies are compressed; request bodies are not decompressed (JSON bodies are small, and a
  // compressed body would let 1 MiB on the wire expand far past the body limit).
  await app.register(compress, { threshold: config.http.compressionThreshold, encodings: ['br', 'gzip'], globalDecompression: false })
  await app.register(requestLog)
  // Metrics first: the breakers' gauge joins its registry, and the database sits behind a breaker.
  await app.register(metrics)
  await app.register(breakers)
  await app.register(db, { url })
  await app.register(openapi)
  await app.register(health)
  await app.register(cache)
  await app.register(queue)
  await app.register(pubsub)
  await app.register(events)
  await app.register(operationsMetrics)
  await app.register(healthDetails)
  await app.register(securityEvents)
  await app.register(rbac)
  await app.register(auth)
  // Ahead of the rate limiter: a frontend's callers get its tier.
  await app.register(frontendContext)
  await app.register(rateLimit)
  await app.register(mailer, { mailer: overrides.mailer })

  const modules = [...builtinModules, ...(overrides.modules ?? [])]
  app.decorate('modules', modules)
  for (const mod of modules) await app.register(mod.plugin)
  return app
}
