import closeWithGrace from 'close-with-grace'
import type { AppOverrides } from '../app.ts'
import type { Config } from '../config.ts'
import { createLogger } from '../platform/logging.ts'
import { isSiblingMessage, processSiblings } from '../platform/siblings.ts'
import { start, type RunningServer } from '../server.ts'

/** WorkerReady is what a worker tells its primary once it listens. */
export interface WorkerReady { url: string, embedded: boolean, admins: number }

/**
 * runWorker is one worker process of `backplane start --workers N`. It takes the database its
 * primary opened and migrated, serves the shared port (node:cluster hands it connections), and
 * drains like a single node when the primary says so, when its primary disappears, or on a signal
 * of its own (Ctrl-C reaches every process of the group): readiness 503, SHUTDOWN_DELAY, finish
 * in-flight requests, exit 0. It resolves with the running server once the primary knows it is ready.
 */
export async function runWorker (config: Config, overrides: Pick<AppOverrides, 'modules'> = {}): Promise<RunningServer> {
  const siblings = processSiblings()
  const log = createLogger(config)
  const database = await siblings.ask<{ url: string, embedded: boolean }>('database', null, 60_000)
  const server = await start(config, { ...overrides, logger: log, siblings }, {
    // The primary owns the database server: the worker neither migrates nor stops it.
    database: { ...database, close: async () => {} }
  })
  let stopping: Promise<void> | undefined
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'worker shutting down gracefully')
      await server.shutdown()
      log.info('worker stopped')
      log.flush()
    })()
    return stopping
  }
  process.on('message', (message: unknown) => {
    if (isSiblingMessage(message) && message.bp === 'broadcast' && message.topic === 'worker:shutdown') {
      stop('primary').then(() => { process.exit(0) }, () => { process.exit(1) })
    }
  })
  // A primary that was killed leaves its workers orphaned: they drain and go too.
  process.on('disconnect', () => { stop('primary gone').then(() => { process.exit(0) }, () => { process.exit(1) }) })
  closeWithGrace({ delay: config.shutdown.timeout, logger: { error: (msg: unknown) => { log.error(String(msg)) } } }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'worker shutting down after an unexpected error')
    await stop(signal ?? 'error')
  })
  const ready: WorkerReady = { url: server.url, embedded: database.embedded, admins: await server.app.users.countActiveAdmins() }
  await siblings.ask('ready', { ...ready }, 10_000)
  return server
}
