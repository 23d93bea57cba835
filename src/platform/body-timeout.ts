import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * bodyTimeout 'own': the route bounds the time its body takes itself (file uploads:
     * FILES_UPLOAD_TIMEOUT_MS and FILES_UPLOAD_IDLE_TIMEOUT_MS), instead of REQUEST_TIMEOUT_MS.
     */
    bodyTimeout?: 'own'
  }
}

const TIMEOUT_REPLY = JSON.stringify({ type: 'about:blank', title: 'Request Timeout', status: 408, code: 'REQUEST_TIMEOUT', detail: 'The request body did not arrive within REQUEST_TIMEOUT_MS' })

/**
 * bodyTimeout keeps REQUEST_TIMEOUT_MS on request bodies when Node's own whole-request timer has to
 * be longer (HT-02): Node has one `requestTimeout` per server, and an upload on a slow link may
 * rightly take far longer than any JSON request. Node's timer is then set to the longest route bound
 * (app.ts), and this hook closes, with a 408, a connection whose body is still arriving
 * REQUEST_TIMEOUT_MS after its headers did, on every route that does not declare `bodyTimeout:
 * 'own'`, matched or not. Headers stay bound by Node's headersTimeout.
 */
export default fp(async (app) => {
  const limit = app.config.http.requestTimeout
  // Node's timer already is the bound: nothing to add.
  if (app.server.requestTimeout <= limit) return
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw
    // `complete` is Node's own flag; an injected request (tests, light-my-request) has no socket to bound.
    if (request.routeOptions.config.bodyTimeout === 'own' || typeof raw.complete !== 'boolean' || raw.complete) {
      done()
      return
    }
    const timer = setTimeout(() => {
      if (raw.complete) return
      const socket = raw.socket
      if (socket.destroyed) return
      if (socket.writableEnded || reply.raw.headersSent) {
        socket.destroy()
        return
      }
      socket.end(`HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(TIMEOUT_REPLY)}\r\n\r\n${TIMEOUT_REPLY}`, () => { socket.destroy() })
    }, limit).unref()
    raw.once('end', () => { clearTimeout(timer) })
    raw.once('close', () => { clearTimeout(timer) })
    done()
  })
}, { name: 'body-timeout' })
