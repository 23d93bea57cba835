import fp from 'fastify-plugin'
import { defineErrors, sendProblem } from './errors.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * lifecycle follows shutdown. `draining` (from SIGTERM): readiness turns 503 and connections stop
     * being reused. `refusing` (after SHUTDOWN_DELAY, until exit): requests a proxy may send to
     * another node are refused with 503.
     */
    lifecycle: { draining: boolean, refusing: boolean }
  }
}

/** lifecycleErrors: the refusal of a request another node should serve. */
export const lifecycleErrors = defineErrors({
  NODE_DRAINING: [503, 'This node is shutting down; send the request again (another node serves it)']
})

// The methods nginx never sends twice (`proxy_next_upstream` without non_idempotent): a refusal of
// these would be the client's failure, so they are served to the end; any other method is retried.
const NOT_RETRIED = new Set(['POST', 'PATCH', 'LOCK'])

/**
 * lifecycle tracks shutdown. While draining, every reply carries `Connection: close`, so a
 * keep-alive client (or load balancer) opens its next request elsewhere and the requests in
 * flight when SIGTERM arrived do not leave idle sockets holding the close open.
 *
 * While refusing, idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE) get a 503 problem with
 * Retry-After: nginx (deploy/nginx) retries them on the next node at once and, the node having
 * failed a request, sends it nothing more: no new connection is then in flight when the listener
 * closes (a connection still in the accept queue is reset, and a POST on it could not be retried).
 * POST and PATCH are still served, as are health probes (readiness answers "draining" itself).
 */
export default fp(async function lifecycle (app) {
  const state = { draining: false, refusing: false }
  app.decorate('lifecycle', state)
  // Synchronous: one boolean read a request while the node serves.
  app.addHook('onRequest', (request, reply, done) => {
    if (!state.refusing || NOT_RETRIED.has(request.method) || request.url.startsWith('/health/')) return done()
    reply.header('retry-after', '1')
    sendProblem(reply, lifecycleErrors.NODE_DRAINING())
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (state.draining) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'lifecycle' })
