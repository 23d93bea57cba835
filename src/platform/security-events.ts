import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import type { FastifyRequest } from 'fastify'

/** SecurityEvent is one auditable fact: who did what to what, from where, and how it ended. */
export interface SecurityEvent {
  action: string
  outcome: 'success' | 'failure' | 'denied'
  actorId?: string | null
  actorType?: 'user' | 'api-key' | 'system' | 'anonymous'
  targetType?: string
  targetId?: string | null
  ip?: string | null
  userAgent?: string | null
  requestId?: string | null
  /** Non-secret details; never passwords, tokens or keys. */
  details?: Record<string, unknown>
}

/** SecurityEvents lets any module report security events without knowing who records them (the audit module does). */
export interface SecurityEvents {
  emit: (event: SecurityEvent) => void
  /** fromRequest fills ip, user agent, request id and actor from a request, and `details.frontend` when it carried a frontend's key. */
  fromRequest: (request: FastifyRequest, event: SecurityEvent) => void
  on: (listener: (event: SecurityEvent) => void) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    securityEvents: SecurityEvents
  }
}

/** securityEvents decorates `app.securityEvents`, an in-process channel from modules to the audit log. */
export default fp(async function securityEvents (app) {
  const emitter = new EventEmitter()
  const events: SecurityEvents = {
    emit: (event) => { emitter.emit('event', event) },
    fromRequest: (request, event) => {
      const actor = request.actor
      // The frontend whose key the request carried goes into the details (the audit table has no column for it).
      const frontend = request.frontend ?? null
      emitter.emit('event', {
        actorId: actor?.userId ?? null,
        actorType: actor ? actor.kind : 'anonymous',
        ip: request.ip,
        userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
        requestId: request.id,
        ...event,
        ...(frontend === null ? {} : { details: { ...event.details, frontend } })
      })
    },
    on: (listener) => { emitter.on('event', listener) }
  }
  app.decorate('securityEvents', events)
}, { name: 'security-events' })
