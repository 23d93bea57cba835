// Child process: Backplane through start(), the whole production pipeline, logging at info to a rotating file.
// Registered before anything imports drizzle, exactly as the CLI entry (src/main.ts) does.
import '../../src/platform/module-hooks.ts'
import { createRequire } from 'node:module'
import { pino } from 'pino'
import type { RunningServer } from '../../src/server.ts'
import { onStop, report } from './servers.ts'

// As src/main.ts: with OTEL_* settings (the tracing run of bench:auth) the SDK starts before the
// application is imported; without them nothing of OpenTelemetry loads.
const { startTracing } = await import('../../src/platform/telemetry/bootstrap.ts')
await startTracing(process.env)
const { tracing } = await import('../../src/platform/tracing.ts')
const { loadConfig } = await import('../../src/config.ts')
const { createLogger } = await import('../../src/platform/logging.ts')
const { start } = await import('../../src/server.ts')

let server: RunningServer | undefined
try {
  // The parent passes a settings-only environment; files (.env, backplane.yaml) are not read.
  const config = loadConfig(process.env, { filesOff: true })
  const file = config.log.file
  if (!file) throw new Error('the benchmark sets LOG_FILE')
  // 'production' is createLogger unchanged (pino-roll file + stdout, stdout going to /dev/null here);
  // 'file' sends the same logger to the pino-roll transport only.
  const logger = process.env.BENCH_LOG_MODE === 'file'
    ? createLogger(config, pino.transport({ target: 'pino-roll', options: { file, size: config.log.fileSize, limit: { count: config.log.fileCount }, mkdir: true } }))
    : createLogger(config)
  server = await start(config, { logger })
  const address = server.app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  // What tracing loaded, from the CommonJS module cache (no loader hook that would cost the measured
  // run): the no-op @opentelemetry/api that prom-client requires is not counted, as in test/system/tracing.test.ts.
  const otelModules = Object.keys(createRequire(import.meta.url).cache)
    .filter((m) => /@opentelemetry|@fastify\/otel|import-in-the-middle|require-in-the-middle/.test(m) && !m.includes('/node_modules/@opentelemetry/api/')).length
  report({ type: 'ready', url: `http://127.0.0.1:${port}`, databaseUrl: server.database.url, otelModules })
  const running = server
  onStop(async () => {
    await running.shutdown()
    await tracing.shutdown()
    logger.flush()
  })
} catch (err) {
  report({ type: 'failed', message: (err as Error).stack ?? String(err) })
  await server?.shutdown().catch(() => {})
  process.exit(1)
}
