import type { Database } from '../../platform/db.ts'
import type { AuditContext, SecurityEvent, SecurityEvents } from '../../platform/security-events.ts'
import type { RequestContext } from './service.ts'

/** LOCK_AFTER is how many consecutive failed sign-in steps (passwords, second factors) lock an account. */
export const LOCK_AFTER = 10
/** LOCK_MS is how long a locked account stays locked. */
export const LOCK_MS = 15 * 60_000

/** isLocked tells whether an account's lock is still running. */
export function isLocked (user: { lockedUntil: Date | null } | undefined): boolean {
  return user?.lockedUntil ? user.lockedUntil.getTime() > Date.now() : false
}

/**
 * FlowAudit reports a flow's security events with what its request context knows (ip, agent,
 * request id, frontend): a change's event in the change's transaction, a refusal or failed attempt alone.
 */
export interface FlowAudit {
  /** record writes a change's event in the change's transaction: it exists exactly when the change commits. */
  record: (ctx: RequestContext, event: SecurityEvent, tx: Database) => Promise<void>
  /** emit reports an event that goes with no change of state (a refusal, a failed attempt). */
  emit: (ctx: RequestContext, event: SecurityEvent) => void
}

/** createFlowAudit builds the sign-in flows' audit reporter over the security-events channel. */
export function createFlowAudit (events: SecurityEvents): FlowAudit {
  return {
    record: (ctx, event, tx) => events.record(auditContextOf(ctx, event.actorId ?? null), event, tx),
    emit: (ctx, event) => {
      const details = ctx.frontend === undefined ? event.details : { ...event.details, frontend: ctx.frontend }
      events.emit({ ip: ctx.ip ?? null, userAgent: ctx.userAgent?.slice(0, 512) ?? null, requestId: ctx.requestId ?? null, ...event, ...(details ? { details } : {}) })
    }
  }
}

/** auditContextOf is a flow's request context as the audit log records it with a change (`SecurityEvents.record`). */
export function auditContextOf (ctx: RequestContext, actorId: string | null): AuditContext {
  return {
    actorId,
    actorType: actorId === null ? 'anonymous' : 'user',
    ip: ctx.ip ?? null,
    userAgent: ctx.userAgent?.slice(0, 512) ?? null,
    requestId: ctx.requestId ?? null,
    ...(ctx.frontend === undefined ? {} : { frontend: ctx.frontend })
  }
}
