// Child process: the Fastify 5 + Drizzle peer, logger off, one route with a response schema.
// BENCH_FLOOR_HEADERS and BENCH_FLOOR_LOG make it the floor variant: Backplane's response headers
// (a fresh X-Request-ID each time) and one asynchronous pino line a request, nothing else.
import Fastify, { LogController } from 'fastify'
import { pino } from 'pino'
import { floorHooks } from '../lib/floor-hooks.ts'
import { failed, listening, readUser, ROUTE, subjectOf } from './row-read.js'

const env = process.env
const headers = env.BENCH_FLOOR_HEADERS ? JSON.parse(env.BENCH_FLOOR_HEADERS) : undefined
const logFile = env.BENCH_FLOOR_LOG
const app = logFile
  ? Fastify({
    loggerInstance: pino({ level: 'info', timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: logFile, sync: false, minLength: 4096 })),
    // Fastify's own request lines off: floorHooks' onResponse hook writes the one line a request.
    logController: new LogController({ disableRequestLogging: true })
  })
  : Fastify({ logger: false })
floorHooks(app, headers, Boolean(logFile))

const Failure = { type: 'object', properties: { error: { type: 'string' } } }
const userSchema = JSON.parse(env.BENCH_USER_SCHEMA ?? '{}')
app.get(ROUTE, { schema: { response: { 200: userSchema, 401: Failure, 404: Failure } } }, async (request, reply) => {
  const sub = await subjectOf(request.headers.authorization)
  if (sub === undefined) return reply.code(401).send({ error: 'unauthorized' })
  const user = await readUser(sub)
  if (!user) return reply.code(404).send({ error: 'not found' })
  return user
})

try {
  await app.listen({ host: '127.0.0.1', port: 0 })
  await listening(app.server.address().port, () => app.close())
} catch (err) {
  await failed(err)
}
