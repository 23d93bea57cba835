import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { actorOf, authErrors, queryField } from '../../platform/auth.ts'
import { defineErrors, type AppError } from '../../platform/errors.ts'
import { tokenExpiry, type Handshake } from './connection.ts'
import type { Hub } from './hub.ts'
import { limits } from './protocol.ts'

/** realtimeErrors are the refusals of a WebSocket handshake, answered in HTTP before any upgrade. */
export const realtimeErrors = defineErrors({
  REALTIME_ORIGIN_FORBIDDEN: [403, 'This origin may not open realtime connections'],
  REALTIME_SOCKET_LIMIT: [429, 'Too many open realtime connections; close one first'],
  REALTIME_DRAINING: [503, 'This node is shutting down; connect again'],
  REALTIME_CREDENTIALS_AMBIGUOUS: [400, 'Send one credential: a bearer token in Sec-WebSocket-Protocol, an Authorization header, an X-API-Key or a ticket'],
  REALTIME_UPGRADE_REQUIRED: [426, 'This address takes WebSocket connections only']
})

/** upgradeRequired answers a plain HTTP request to the WebSocket address. */
export function upgradeRequired (): AppError {
  return realtimeErrors.REALTIME_UPGRADE_REQUIRED(undefined, { headers: { upgrade: 'websocket', connection: 'Upgrade' } })
}

/** OriginCheck decides whether a browser origin may open a socket (issue 6 swaps in the per-frontend list). */
export type OriginCheck = (origin: string, request: FastifyRequest) => boolean | Promise<boolean>

/**
 * defaultOriginCheck allows the CORS allow-list (CORS_ORIGINS and the enabled frontends' origins,
 * kept current on every node), the public URL's origin and the page's own origin (same host as the
 * request): every other origin is a cross-site page and is refused (CSWSH).
 */
export function defaultOriginCheck (app: FastifyInstance): OriginCheck {
  const publicOrigin = app.config.http.publicUrl ? new URL(app.config.http.publicUrl).origin : undefined
  return (origin, request) => {
    if (app.corsOrigins.allows(origin) || origin === publicOrigin) return true
    try {
      const url = new URL(origin)
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.host === request.host
    } catch {
      return false
    }
  }
}

/** selectProtocol is the `ws` handshake hook: the client offered `bearer, <token>`; only `bearer` is echoed. */
export function selectProtocol (protocols: Set<string>): string | false {
  return protocols.has('bearer') ? 'bearer' : false
}

function offeredProtocols (request: FastifyRequest): string[] {
  const header = request.headers['sec-websocket-protocol']
  return typeof header === 'string' ? header.split(',').map((p) => p.trim()).filter(Boolean) : []
}

const KEY_PREFIX = /^bp_([a-z0-9]{8})_/

/**
 * createHandshake returns the two hooks of the upgrade: `before` runs ahead of the access check
 * (draining, Origin, the token moved from Sec-WebSocket-Protocol to where the bearer scheme reads
 * it), `admit` after it (the per-user socket cap, the credential's expiry).
 */
export function createHandshake ({ app, hub, originCheck, usedTicket, handshakes }: {
  app: FastifyInstance
  hub: Hub
  originCheck: () => OriginCheck
  usedTicket: WeakSet<FastifyRequest>
  handshakes: WeakMap<FastifyRequest, Handshake>
}) {
  const bearerTokens = new WeakMap<FastifyRequest, string>()

  return {
    async before (request: FastifyRequest): Promise<void> {
      if (!request.ws) return
      if (app.lifecycle.draining) throw realtimeErrors.REALTIME_DRAINING()
      const origin = request.headers.origin
      if (origin !== undefined && !(await originCheck()(origin, request))) throw realtimeErrors.REALTIME_ORIGIN_FORBIDDEN()
      const offered = offeredProtocols(request)
      const at = offered.indexOf('bearer')
      if (at === -1) return
      const token = offered[at + 1]
      if (token === undefined || token.length > 8192) throw authErrors.AUTH_INVALID()
      if (request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined || queryField(request, 'ticket') !== undefined) {
        throw realtimeErrors.REALTIME_CREDENTIALS_AMBIGUOUS()
      }
      // The bearer scheme reads the Authorization header: hand it the token there (in this request only).
      request.headers = { authorization: `Bearer ${token}` }
      bearerTokens.set(request, token)
    },

    async admit (request: FastifyRequest, reply: FastifyReply): Promise<void> {
      if (!request.ws) return
      const actor = actorOf(request)
      // A user's API keys count towards the user's own cap (else 100 keys would hold 2,000 sockets);
      // an agent's credential is an account of its own.
      const principal = actor.agentId === undefined ? `user:${actor.userId}` : `agent:${actor.agentId}`
      if (hub.count(principal) >= limits.maxSocketsPerPrincipal) throw realtimeErrors.REALTIME_SOCKET_LIMIT()
      const header = request.headers.authorization
      const token = bearerTokens.get(request) ?? (typeof header === 'string' ? header.slice('Bearer '.length) : undefined)
      let expiresAt: number | null = null
      let keyPrefix: string | undefined
      if (actor.kind === 'user') {
        // A ticket is short-lived but its socket is not: it gets one access-token lifetime.
        expiresAt = usedTicket.has(request) || token === undefined ? Date.now() + app.config.auth.accessTtlSeconds * 1000 : tokenExpiry(token)
      } else {
        const key = request.headers['x-api-key']
        keyPrefix = typeof key === 'string' ? KEY_PREFIX.exec(key)?.[1] : undefined
        const found = keyPrefix === undefined ? undefined : await app.apiKeys.lookup(keyPrefix)
        expiresAt = found?.expiresAt ?? null
      }
      handshakes.set(request, { actor, principal, keyPrefix, expiresAt, reply })
    }
  }
}
