import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** lifecycle.draining is set when shutdown begins: readiness turns 503 and connections stop being reused. */
    lifecycle: { draining: boolean }
  }
}

/**
 * lifecycle tracks shutdown. While draining, every reply carries `Connection: close`, so a
 * keep-alive client (or load balancer) opens its next request elsewhere and the requests in
 * flight when SIGTERM arrived do not leave idle sockets holding the close open.
 */
export default fp(async function lifecycle (app) {
  const state = { draining: false }
  app.decorate('lifecycle', state)
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (state.draining) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'lifecycle' })
