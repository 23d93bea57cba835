import { randomUUID } from 'node:crypto'

// The few members of a Fastify instance the hooks use: the baseline passes the project's Fastify,
// the peer (bench/peers) its own, so this file imports no Fastify of either.
interface FloorRequest { method: string, url: string, ip: string, log: { info: (fields: object, msg: string) => void } }
interface FloorReply { statusCode: number, elapsedTime: number, headers: (values: Record<string, string>) => unknown, header: (name: string, value: string) => unknown }
interface FloorApp {
  addHook: ((name: 'onRequest' | 'onResponse', hook: (request: FloorRequest, reply: FloorReply, done: () => void) => void) => unknown)
}

/**
 * floorHooks give a bare Fastify server the floor's extra work: `headers` on every reply with a
 * fresh X-Request-ID, and (when `log`) one line a request on the instance's logger, nothing else.
 */
export function floorHooks (app: FloorApp, headers: Record<string, string> | undefined, log: boolean): void {
  if (headers) {
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers)
      reply.header('x-request-id', randomUUID())
      done()
    })
  }
  if (log) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime, ip: request.ip }, 'request')
      done()
    })
  }
}
