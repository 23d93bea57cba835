// Child process: a bare Fastify 5 server (logger off, no plugins) serving the same JSON as Backplane.
import Fastify from 'fastify'
import { onStop, report } from './servers.ts'

const instance = JSON.parse(process.env.BENCH_INSTANCE_JSON ?? '{}') as Record<string, string>

const app = Fastify({ logger: false })
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
