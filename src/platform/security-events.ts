import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import type { FastifyRequest } from 'fastify'
import type { Database } from './db.ts'

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

/**
 * AuditContext is who asked for a change and from where, as a service sees it (never HTTP itself):
 * routes take it from the request with `contextOf`, the CLI and seeds use `SYSTEM_CONTEXT`.
 */
export interface AuditContext {
  actorId: string | null
  actorType: NonNullable<SecurityEvent['actorType']>
  ip: string | null
  userAgent: string | null
  requestId: string | null
  /** frontend is the registered frontend whose key the request carried. */
  frontend?: string
  /** by names the tool behind a system change (`cli`, `demo seed`). */
  by?: string
}

/** SYSTEM_CONTEXT is the audit context of changes made by Backplane itself (CLI commands, seeds). */
export const SYSTEM_CONTEXT: AuditContext = Object.freeze({ actorId: null, actorType: 'system', ip: null, userAgent: null, requestId: null })

/** SecurityEventStore is where events are kept (the audit module): in a change's transaction, or queued when no change goes with them. */
export interface SecurityEventStore {
  /** write stores the event in the caller's transaction: it exists exactly when the change commits. */
  write: (event: SecurityEvent, tx: Database) => Promise<void>
  /** enqueue keeps an event that goes with no change (a refusal, a failed attempt); it never throws or waits. */
  enqueue: (event: SecurityEvent) => void
}

/** SecurityEvents lets any module report security events without knowing who records them (the audit module does). */
export interface SecurityEvents {
  /**
   * record writes the event of a change in the change's own transaction, so a crash can never
   * keep the change and lose its audit row. Every successful change is reported this way.
   */
  record: (context: AuditContext, event: SecurityEvent, tx: Database) => Promise<void>
  /** emit reports an event that goes with no change of state (a refusal, a failed attempt). */
  emit: (event: SecurityEvent) => void
  /** fromRequest is `emit` with ip, user agent, request id, actor and frontend taken from a request. */
  fromRequest: (request: FastifyRequest, event: SecurityEvent) => void
  /** contextOf is the audit context of a request: its actor, ip, user agent, request id and frontend. */
  contextOf: (request: FastifyRequest) => AuditContext
  /** on observes every reported event (recorded ones once written in their transaction). */
  on: (listener: (event: SecurityEvent) => void) => void
  /** useStore names the store events are kept in; events reported before one is set are only observed. */
  useStore: (store: SecurityEventStore) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    securityEvents: SecurityEvents
  }
}

/** withContext stamps an event with where it came from; the frontend and tool go into the details (the audit table has no columns for them). */
function withContext (context: AuditContext, event: SecurityEvent): SecurityEvent {
  const { frontend, by, ...from } = context
  const extra = { ...(frontend === undefined ? {} : { frontend }), ...(by === undefined ? {} : { by }) }
  return { ...from, ...event, ...(Object.keys(extra).length === 0 ? {} : { details: { ...event.details, ...extra } }) }
}

/** securityEvents decorates `app.securityEvents`, the channel from modules to the audit log. */
export default fp(async function securityEvents (app) {
  const emitter = new EventEmitter()
  let store: SecurityEventStore | undefined
  const contextOf = (request: FastifyRequest): AuditContext => {
    const actor = request.actor
    return {
      actorId: actor?.userId ?? null,
      actorType: actor ? actor.kind : 'anonymous',
      ip: request.ip,
      userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
      requestId: request.id,
      ...(request.frontend == null ? {} : { frontend: request.frontend })
    }
  }
  const emit = (event: SecurityEvent) => {
    store?.enqueue(event)
    emitter.emit('event', event)
  }
  const events: SecurityEvents = {
    async record (context, event, tx) {
      const stamped = withContext(context, event)
      await store?.write(stamped, tx)
      emitter.emit('event', stamped)
    },
    emit,
    fromRequest: (request, event) => { emit(withContext(contextOf(request), event)) },
    contextOf,
    on: (listener) => { emitter.on('event', listener) },
    useStore: (next) => { store = next }
  }
  app.decorate('securityEvents', events)
}, { name: 'security-events' })
