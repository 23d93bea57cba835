import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry } from 'prom-client'
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { openDatabaseServer, type DatabaseServer } from '../platform/database.ts'
import { createLogger } from '../platform/logging.ts'
import { runMigrations } from '../platform/migrate.ts'
import { MemoryCounter } from '../platform/adapters/rate-limit-store.ts'
import { isSiblingMessage, type SiblingMessage } from '../platform/siblings.ts'
import { banner, NO_ADMIN_HINT } from '../server.ts'
import { restartDelay } from './restart-delay.ts'
import type { WorkerReady } from './worker.ts'

// Topics a worker may broadcast to its siblings; anything else (a shutdown order) comes only from here.
const RELAYED = ['pubsub:', 'cache-bus:']

/**
 * runPrimary is the primary process of `backplane start --workers N` (node:cluster): it opens the
 * database server once (the embedded PostgreSQL, or checks DATABASE_URL), runs the migrations
 * once, forks N workers that share the port, and stays small. It relays pub/sub and cache-bus
 * messages between the workers, keeps the machine's rate-limit counts when there is no Redis,
 * gathers every worker's metrics for /metrics (prom-client's AggregatorRegistry), restarts a
 * worker that dies with a growing back-off, and on SIGTERM/SIGINT drains every worker, then stops
 * the database server and exits 0. The returned `shutdown` does the same on demand (the benchmark uses it).
 */
export async function runPrimary (config: Config, count: number): Promise<{ shutdown: (reason: string) => Promise<void> }> {
  const log: Logger = createLogger(config).child({ role: 'primary' })
  const database: DatabaseServer = await openDatabaseServer(config, log)
  try {
    await runMigrations(database.url)
  } catch (err) {
    await database.close().catch(() => {})
    throw err
  }
  const aggregator = new AggregatorRegistry()
  const counts = new MemoryCounter(100_000)
  const ready = new Map<number, WorkerReady>()
  const crashes = { recent: 0 }
  let everReady = false
  let bannerShown = false
  let stopping: Promise<void> | undefined

  async function answer (kind: string, body: unknown, worker: Worker): Promise<unknown> {
    if (kind === 'database') return { url: database.url, embedded: database.embedded }
    if (kind === 'rate-limit') {
      const { key, windowMs } = body as { key: string, windowMs: number }
      return counts.incr(key, windowMs)
    }
    if (kind === 'metrics') return aggregator.clusterMetrics()
    if (kind === 'ready') {
      ready.set(worker.id, body as WorkerReady)
      everReady = true
      showBannerOnce(body as WorkerReady)
      return true
    }
    throw new Error(`unknown request ${kind}`)
  }

  function showBannerOnce (first: WorkerReady): void {
    if (bannerShown || ready.size < count) return
    bannerShown = true
    process.stderr.write(banner(config, first.url, database).replace(' is ready ', ` is ready with ${count} workers `))
    if (first.admins === 0) process.stderr.write(NO_ADMIN_HINT)
    log.info({ workers: count, url: first.url }, 'backplane ready')
    if (!database.embedded && !config.redis.url) {
      log.warn('DATABASE_URL is set without REDIS_URL: the workers of this machine share sign-outs, caches, events and limits through this process, but other machines do not; set REDIS_URL to run several machines')
    }
  }

  function onMessage (worker: Worker, message: unknown): void {
    if (!isSiblingMessage(message)) return
    if (message.bp === 'broadcast') {
      if (!RELAYED.some((p) => message.topic.startsWith(p))) return
      for (const other of Object.values(cluster.workers ?? {})) {
        if (other && other !== worker && other.isConnected()) other.send(message)
      }
    } else if (message.bp === 'ask') {
      const reply = (ok: boolean, body: unknown) => {
        if (worker.isConnected()) worker.send({ bp: 'answer', id: message.id, ok, body } satisfies SiblingMessage)
      }
      answer(message.kind, message.body, worker).then((body) => { reply(true, body) }, (err: unknown) => { reply(false, (err as Error).message) })
    }
  }

  function fork (): void {
    const worker = cluster.fork()
    const forkedAt = Date.now()
    worker.on('message', (message: unknown) => { onMessage(worker, message) })
    worker.on('exit', (code, signal) => {
      ready.delete(worker.id)
      if (stopping) return
      if (!everReady) {
        // No worker ever started: a setting or the port is wrong, and restarting will not fix it.
        log.error({ code, signal }, 'a worker failed before any worker was ready; stopping')
        shutdown('worker failed at start', 1).catch(() => {})
        return
      }
      const delay = restartDelay(crashes, Date.now() - forkedAt)
      log.error({ workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'worker exited; restarting it')
      setTimeout(() => { if (!stopping) fork() }, delay).unref()
    })
  }

  function shutdown (reason: string, exitCode = 0): Promise<void> {
    stopping ??= (async () => {
      log.info({ reason }, 'draining the workers')
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
      const exits = workers.map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) resolve()
        else w.once('exit', () => { resolve() })
      }))
      for (const w of workers) if (w.isConnected()) w.send({ bp: 'broadcast', topic: 'worker:shutdown', message: reason } satisfies SiblingMessage)
      // Each worker bounds its own drain by SHUTDOWN_TIMEOUT_MS; past that (plus the delay) it is killed.
      const budget = config.shutdown.delay + config.shutdown.timeout + 2000
      const timer = setTimeout(() => { for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL') }, budget)
      await Promise.all(exits)
      clearTimeout(timer)
      await database.close().catch((err: unknown) => { log.error({ err }, 'database server did not stop cleanly') })
      log.info('stopped')
      log.flush()
      process.exit(exitCode)
    })()
    return stopping
  }

  process.once('SIGTERM', () => { shutdown('SIGTERM').catch(() => {}) })
  process.once('SIGINT', () => { shutdown('SIGINT').catch(() => {}) })
  for (let i = 0; i < count; i++) fork()
  return { shutdown }
}
