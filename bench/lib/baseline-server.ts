// Child process: a bare Fastify 5 server (logger off, no plugins) serving the same JSON as Backplane.
// With `--baseline floor` it also sends Backplane's response headers and logs one line a request.
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { floorHooks } from './floor-hooks.ts'
import { onStop, report } from './servers.ts'

const instance = JSON.parse(process.env.BENCH_INSTANCE_JSON ?? '{}') as Record<string, string>
const headers = process.env.BENCH_BASELINE_HEADERS ? JSON.parse(process.env.BENCH_BASELINE_HEADERS) as Record<string, string> : undefined
const logFile = process.env.BENCH_BASELINE_LOG

// The floor: what any server sending those headers and writing an asynchronous JSON line a request
// pays, with none of Backplane's other work (CORS decisions, rate limiting, metrics, compression…).
const app = (logFile
  ? Fastify({
    loggerInstance: pino({ level: 'info', timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: logFile, sync: false, minLength: 4096 })),
    // Fastify's own request lines off (without the deprecated top-level option): floorHooks writes the one line.
    logController: new LogController({ disableRequestLogging: true })
  })
  : Fastify({ logger: false })) as unknown as FastifyInstance
floorHooks(app, headers, Boolean(logFile))
// The same response schemas as Backplane's routes, so both serialize through fast-json-stringify.
app.get('/api/v1/instance', {
  schema: {
    response: {
      200: {
        type: 'object',
        properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string' }, version: { type: 'string' } },
        required: ['id', 'name', 'version'],
        additionalProperties: false
      }
    }
  }
}, async () => instance)
app.get('/health/live', {
  schema: { response: { 200: { type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] } } }
}, async () => ({ status: 'ok' }))

try {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  report({ type: 'ready', url: `http://127.0.0.1:${port}` })
  onStop(async () => { await app.close() })
} catch (err) {
  report({ type: 'failed', message: (err as Error).message })
  process.exit(1)
}
