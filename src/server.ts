import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp, type AppOverrides } from './app.ts'
import type { Config } from './config.ts'
import { openDatabaseServer, type DatabaseServer } from './platform/database.ts'
import { createLogger } from './platform/logging.ts'
import { runMigrations } from './platform/migrate.ts'
import { runSeeds } from './platform/modules.ts'
import { tracing } from './platform/tracing.ts'
import { explainListenError } from './lib/listen-error.ts'
import { releaseStartupMemory } from './lib/startup-memory.ts'
import { version } from './lib/version.ts'

/** RunningServer is a listening Backplane with its database server and a way to stop both. */
export interface RunningServer {
  app: FastifyInstance
  database: DatabaseServer
  url: string
  /** shutdown runs the graceful sequence: readiness 503, SHUTDOWN_DELAY, stop accepting, drain, close. */
  shutdown: () => Promise<void>
}

/** banner is what `backplane start` prints once it listens (the tests read the API line from it). */
export function banner (config: Config, url: string, database: DatabaseServer): string {
  const where = database.embedded ? `embedded PostgreSQL under ${config.dataDir}` : 'PostgreSQL at DATABASE_URL'
  return [
    '',
    `  Backplane ${version} is ready (${config.env})`,
    `  API       ${url}/api/v1`,
    `  Console   ${url}/admin`,
    ...(config.docs.enabled ? [`  Docs      ${url}/docs   (OpenAPI: ${url}/openapi.json)`] : []),
    `  Health    ${url}/health/live   ${url}/health/ready`,
    ...(config.metrics.enabled ? [`  Metrics   ${url}/metrics`] : []),
    `  Database  ${where}`,
    ''
  ].join('\n') + '\n'
}

/** StartOptions are set by a cluster primary for its workers: the database it already opened and migrated. */
export interface StartOptions {
  /** database is open and migrated (the primary runs migrations once); the worker neither migrates nor closes it. */
  database?: DatabaseServer
}

/**
 * start brings Backplane up: database server (embedded or external), migrations, seeds, then the
 * HTTP listener. Failures before listening stop what was started and rethrow.
 */
export async function start (config: Config, overrides: Omit<AppOverrides, 'databaseUrl'> = {}, options: StartOptions = {}): Promise<RunningServer> {
  const log: Logger = overrides.logger ?? createLogger(config, overrides.logStream)
  const started = performance.now()
  const database = options.database ?? await openDatabaseServer(config, log)
  let app: FastifyInstance | undefined
  try {
    if (!options.database) await runMigrations(database.url, undefined, overrides.modules)
    app = await buildApp(config, { ...overrides, logger: log, databaseUrl: database.url })
    await app.ready()
    await runSeeds(app.modules, { db: app.db, log: app.log, demo: false })
    // Start-up's memory goes back to the system (issue 13) before the node listens, so that no
    // request waits on the collection's pause.
    log.debug(releaseStartupMemory(), 'start-up memory released')
    await app.listen({ host: config.http.host, port: config.http.port }).catch((err: unknown) => { throw explainListenError(err, config.http) })
  } catch (err) {
    await app?.close().catch(() => {})
    await database.close().catch(() => {})
    throw err
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  const host = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(config.http.host) ? 'localhost' : config.http.host
  const url = config.http.publicUrl ?? `http://${host}:${port}`
  log.info({ url, readyMs: Math.round(performance.now() - started), embeddedDatabase: database.embedded }, 'backplane ready')
  if (!database.embedded && !config.redis.url && !overrides.siblings) {
    log.warn('DATABASE_URL is set without REDIS_URL: run a single node, or set REDIS_URL so that sign-outs and revocations reach every node at once (otherwise up to 30 s)')
  }
  const ready = app
  let closing: Promise<void> | undefined
  return {
    app: ready,
    database,
    url,
    shutdown: () => {
      closing ??= (async () => {
        // Readiness 503 and Connection: close on every reply; every request is still served. Idle
        // keep-alive connections are left open: closing one races with a proxy that is writing a
        // request on it, and a POST lost that way cannot be retried (each reused one closes after
        // its reply anyway).
        ready.lifecycle.draining = true
        if (config.shutdown.delay > 0) {
          await sleep(config.shutdown.delay)
          // A proxy that never polls readiness (nginx) learns from a refused GET that this node is
          // leaving, and stops opening connections to it before the listener closes.
          ready.lifecycle.refusing = true
          await sleep(Math.min(REFUSE_BEFORE_CLOSE_MS, config.shutdown.delay))
        }
        ready.lifecycle.refusing = true
        await ready.close()
        await database.close()
      })()
      return closing
    }
  }
}

/**
 * REFUSE_BEFORE_CLOSE_MS is how long a node refuses idempotent requests before closing its listener
 * (after SHUTDOWN_DELAY, never longer than it): enough for a busy proxy to see a refusal and take
 * the node out; it adds at most this to a shutdown.
 */
export const REFUSE_BEFORE_CLOSE_MS = 1000

/** NO_ADMIN_HINT is printed under the banner while no admin account exists. */
export const NO_ADMIN_HINT = '  No admin account yet. Create one with:\n    npm run backplane -- create-admin\n  (or: node src/main.ts create-admin --email you@example.com --password-stdin)\n  in another terminal, in this folder, while this server keeps running; then sign in at /admin.\n\n'

/** serve is `backplane start`: start, print where everything is, and shut down gracefully on SIGTERM/SIGINT. */
export async function serve (config: Config, overrides: Pick<AppOverrides, 'modules'> = {}): Promise<RunningServer> {
  const log = createLogger(config)
  const server = await start(config, { ...overrides, logger: log })
  // The signal handlers go in before anything else is awaited: a SIGTERM that lands once the node
  // listens (an orchestrator stopping a pod that just turned ready) used to find none while the
  // admin count below ran, and killed the process without draining or stopping its database.
  closeWithGrace({
    delay: config.shutdown.timeout,
    logger: { error: (msg: unknown) => { log.error(String(msg)) } }
  }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an unexpected error')
    else log.info({ signal }, 'shutting down gracefully')
    await server.shutdown()
    // Spans still in the exporter's batch (the last requests, the drain) are sent before exit.
    await tracing.shutdown().catch((error: unknown) => { log.warn({ err: { message: (error as Error).message } }, 'traces not flushed') })
    log.info('stopped')
    log.flush()
  })
  process.stderr.write(banner(config, server.url, server.database))
  // Only a hint: a shutdown that closes the pool under this query must not turn into a failed start.
  if ((await server.app.users.countActiveAdmins().catch(() => undefined)) === 0) process.stderr.write(NO_ADMIN_HINT)
  return server
}
