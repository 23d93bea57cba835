import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { Type } from 'typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { logRequest } from '../../platform/request-log.ts'
import { upgradeView, type Connections, type Handshake } from './connection.ts'
import { upgradeRequired, type createHandshake } from './handshake.ts'
import { REALTIME_PATH } from './protocol.ts'
import { TICKET_TTL_SECONDS, type Tickets } from './tickets.ts'

const tags = ['realtime']

/** TicketSchema is a one-time WebSocket ticket. */
export const TicketSchema = Type.Object({
  ticket: Type.String({ maxLength: 100, description: 'Single use; open the socket at /api/v1/realtime?ticket=<ticket> within expiresIn seconds' }),
  expiresIn: Type.Integer({ description: 'Seconds the ticket stays valid', examples: [TICKET_TTL_SECONDS] })
})

const ConnectQuery = Type.Object({
  ticket: Type.Optional(Type.String({ maxLength: 100, description: 'A ticket from POST /api/v1/realtime/ticket (browsers); otherwise send `Sec-WebSocket-Protocol: bearer, <access token>`' }))
}, { additionalProperties: false })

const CONNECT_DESCRIPTION = [
  'Opens the realtime WebSocket. Credentials: `Sec-WebSocket-Protocol: bearer, <access token>` (the server selects `bearer`),',
  'a one-time `?ticket=`, or (non-browser clients) an `Authorization` or `X-API-Key` header; never a token in the URL.',
  'A browser `Origin` must be allowed. Messages are JSON: `subscribe {channel, lastEventId?}`, `unsubscribe {channel}`, `ping`,',
  '`auth {token|ticket}`; the server sends `ready`, `subscribed`, `unsubscribed`, `event {channel,id,event,data,at}`, `gap`, `pong`, `error`.',
  'Limits: 64 KiB frames (1009), 100 subscriptions, 20 sockets per user, 50 messages/s, 1 MiB send buffer.'
].join(' ')

/** realtimeRoutes serve the WebSocket and the ticket exchange. */
export function realtimeRoutes ({ tickets, connections, handshake, handshakes }: {
  tickets: Tickets
  connections: Connections
  handshake: ReturnType<typeof createHandshake>
  handshakes: WeakMap<FastifyRequest, Handshake>
}): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    // Ahead of the route's access check (a context hook runs before route hooks): draining, Origin,
    // and the token moved from Sec-WebSocket-Protocol to where the bearer scheme reads it.
    app.addHook('onRequest', handshake.before)

    app.route({
      method: 'GET',
      url: REALTIME_PATH,
      config: { access: 'authenticated' },
      schema: {
        tags,
        operationId: 'connectRealtime',
        summary: 'Open the realtime WebSocket (upgrade only)',
        description: CONNECT_DESCRIPTION,
        querystring: ConnectQuery,
        response: {
          101: { description: 'Switching Protocols: the WebSocket is open', type: 'null' },
          400: ProblemSchema,
          401: ProblemSchema,
          403: ProblemSchema,
          426: ProblemSchema,
          429: ProblemSchema,
          503: ProblemSchema,
          // A WebSocket has no 2xx: any status not listed is a problem too (OpenAPI's catch-all).
          default: { ...ProblemSchema, description: 'Any other failure, as a problem' }
        }
      },
      // After the access check: the per-user socket cap and the credential's expiry.
      onRequest: handshake.admit,
      handler: async () => { throw upgradeRequired() },
      wsHandler: (socket, request) => {
        const shake = handshakes.get(request)
        if (!shake) {
          socket.close(1011, 'handshake incomplete')
          return
        }
        // The HTTP exchange is over: log it now, and detach its response from the socket. Attached,
        // the response's listeners would hold the Fastify request and reply for the socket's life
        // (its close would log the line then, with the socket's lifetime as the duration).
        logRequest(request, 101, shake.reply.elapsedTime)
        const response = shake.reply.raw
        if (response.socket) response.detachSocket(response.socket)
        // @fastify/websocket's error listener closes over the request and reply: swap it for one
        // that keeps only the request id (an unclean client disconnect is routine, logged at info).
        const requestId = request.id
        socket.removeAllListeners('error')
        socket.on('error', (err: Error) => { app.log.info({ requestId, err: { message: err.message } }, 'realtime: socket error') })
        connections.open(socket, upgradeView(request), shake)
      }
    })

    app.post('/api/v1/realtime/ticket', {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'createRealtimeTicket',
        summary: 'Get a one-time ticket to open the WebSocket from a browser (30 s, single use)',
        response: { 200: TicketSchema, 401: ProblemSchema, 403: ProblemSchema }
      }
    }, async (request) => {
      const actor = actorOf(request)
      return tickets.create(actor.userId, actor.sessionId!)
    })
  }
}
