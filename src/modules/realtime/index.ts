import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyRequest } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import { defineModule } from '../../platform/modules.ts'
import { createConnections, type Handshake } from './connection.ts'
import { createHandshake, defaultOriginCheck, selectProtocol, type OriginCheck } from './handshake.ts'
import { createHub } from './hub.ts'
import { closeCodes, limits } from './protocol.ts'
import { realtimeRoutes } from './routes.ts'
import { createTickets, ticketScheme } from './tickets.ts'
import { watchSockets } from './watch.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** realtime is the WebSocket side: open sockets on this node and the Origin policy of the handshake. */
    realtime: {
      /** sockets counts the open sockets on this node. */
      sockets: () => number
      /** setOriginCheck replaces the Origin policy (the frontends module adds per-frontend origins). */
      setOriginCheck: (check: OriginCheck) => void
      /** recheck re-checks every socket's credentials now, as the minute timer does. */
      recheck: () => Promise<void>
      /** heartbeat runs one keep-alive round now, as the 30 s timer does: ping each socket, cut those that missed the last ping. */
      heartbeat: () => void
    }
  }
}

const SHUTDOWN_GRACE_MS = 2000

/**
 * realtimeModule serves `/api/v1/realtime`: authenticated WebSockets subscribing to channels that
 * are authorised like the matching REST reads, fed by published events on every node.
 */
export default defineModule({
  name: 'realtime',
  plugin: fp(async (app) => {
    app.rbac.define({ realtime: ['admin'] })
    const sent = new Counter({ name: 'backplane_realtime_messages_sent_total', help: 'Realtime messages written to sockets on this node', registers: [app.metrics] })
    const dropped = new Counter({ name: 'backplane_realtime_messages_dropped_total', help: 'Realtime messages not delivered: the socket was a slow consumer (cut off) or already closed', labelNames: ['reason'] as const, registers: [app.metrics] })
    const hub = createHub(app.log, { sent: () => { sent.inc() }, dropped: (reason) => { dropped.inc({ reason }) } })
    const tickets = createTickets(app.db)
    const handshakes = new WeakMap<FastifyRequest, Handshake>()
    const usedTicket = new WeakSet<FastifyRequest>()
    let originCheck = defaultOriginCheck(app)
    const handshake = createHandshake({ app, hub, originCheck: () => originCheck, usedTicket, handshakes })
    const connections = createConnections({ app, hub, tickets })
    app.auth.addScheme(ticketScheme(app, tickets, usedTicket))

    // Ahead of the plugin's own preClose (which closes without a code): every socket gets 1001.
    app.addHook('preClose', async () => {
      watcher?.stop()
      const sockets = [...hub.conns].map((c) => c.socket)
      hub.closeWhere(() => true, closeCodes.goingAway, 'server shutting down')
      const deadline = Date.now() + SHUTDOWN_GRACE_MS
      while (sockets.some((s) => s.readyState !== s.CLOSED) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      for (const s of sockets) s.terminate()
    })
    await app.register(websocket, {
      options: { maxPayload: limits.maxMessageBytes, handleProtocols: selectProtocol, perMessageDeflate: false },
      // `ws` closes the socket itself on a protocol error (1009 for an oversized frame, 1002…): only log.
      errorHandler: (err, _socket, request) => { request.log.info({ err: { message: err.message } }, 'realtime: socket error') }
    })
    let watcher: ReturnType<typeof watchSockets> | undefined
    app.addHook('onReady', async () => { watcher = watchSockets({ app, hub, connections }) })
    app.addHook('onClose', async () => { watcher?.stop() })

    app.metrics.registerMetric(new Gauge({ name: 'realtime_sockets', help: 'Open realtime WebSockets on this node', registers: [], collect () { this.set(hub.conns.size) } }))
    app.decorate('realtime', {
      sockets: () => hub.conns.size,
      setOriginCheck: (check: OriginCheck) => { originCheck = check },
      recheck: async () => { await watcher?.recheckAll() },
      heartbeat: () => { watcher?.pingAll() }
    })
    await app.register(realtimeRoutes({ tickets, connections, handshake, handshakes }))
  }, { name: 'realtime', dependencies: ['auth', 'auth-module', 'api-keys', 'users', 'projects', 'agents', 'events', 'metrics', 'lifecycle'] })
})
