import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** requestLog 'errors' writes a route's request line only for a 5xx reply (health probes). */
    requestLog?: 'errors'
  }
}

/**
 * logRequest writes a request's one line. The request-log hook calls it when a reply finishes; a
 * WebSocket upgrade calls it when the socket opens (status 101), since its HTTP exchange ends there.
 */
export function logRequest (request: FastifyRequest, status: number, elapsedMs: number): void {
  // routeOptions is a getter that builds an object: read it once.
  const route = request.routeOptions
  if (status < 500 && route.config?.requestLog === 'errors') return
  const line = {
    method: request.method,
    url: request.url.split('?')[0],
    route: route.url,
    status,
    ms: Math.round(elapsedMs * 10) / 10,
    ip: request.ip,
    // The registered frontend whose key the request carried (absent otherwise, keeping lines short).
    ...(request.frontend ? { frontend: request.frontend } : {})
  }
  // A 503 is a deliberate refusal (draining, dependency down) already logged where it arose.
  if (status >= 500 && status !== 503) request.log.error(line, 'request')
  else if (status === 503) request.log.warn(line, 'request')
  else request.log.info(line, 'request')
}

/** requestLog writes exactly one line per finished request (Fastify's own two lines are off). */
export default fp(async function requestLog (app) {
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply.statusCode, reply.elapsedTime)
    done()
  })
}, { name: 'request-log' })
