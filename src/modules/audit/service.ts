import type { CursorCodec } from '../../lib/cursor.ts'
import { isId, newId } from '../../lib/ids.ts'
import type { SecurityEvent } from '../../platform/security-events.ts'
import { cleanText, scrubDetails } from './redaction.ts'
import type { AuditRepository } from './repository.ts'
import type { AuditEvent, AuditListQuery } from './schemas.ts'
import { ACTOR_TYPES, AUDIT_OUTCOMES, type AuditInsert, type AuditRow } from './table.ts'
import type { AuditWriter } from './writer.ts'

const text = (value: string | null | undefined, max: number) => (typeof value === 'string' ? cleanText(value, max) : null)

/** toAuditRow turns a reported event into a row: stamped now, fields bounded, details scrubbed of secrets. */
export function toAuditRow (event: SecurityEvent, now = new Date()): AuditInsert {
  const actorId = isId(event.actorId) ? event.actorId : null
  const actorType = ACTOR_TYPES.includes(event.actorType as never) ? event.actorType! : actorId ? 'user' : 'anonymous'
  return {
    // The id and time are the event's own, so batching does not reorder or delay them.
    id: newId(),
    createdAt: now,
    action: text(String(event.action), 100) || 'unknown',
    outcome: AUDIT_OUTCOMES.includes(event.outcome) ? event.outcome : 'failure',
    actorId,
    actorType,
    targetType: text(event.targetType, 50),
    targetId: text(event.targetId, 200),
    ip: text(event.ip, 64),
    userAgent: text(event.userAgent, 512),
    requestId: text(event.requestId, 128),
    details: scrubDetails(event.details)
  }
}

/** toAuditEvent is the only way a stored event leaves the module. */
export function toAuditEvent (row: AuditRow): AuditEvent {
  return {
    id: row.id,
    createdAt: row.createdAt.toISOString(),
    action: row.action,
    outcome: row.outcome,
    actorId: row.actorId,
    actorType: row.actorType,
    targetType: row.targetType,
    targetId: row.targetId,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    details: row.details
  }
}

/** createAuditService records security events (queued, never blocking) and answers the admin query. */
export function createAuditService ({ repo, writer, cursors }: { repo: AuditRepository, writer: AuditWriter, cursors: CursorCodec }) {
  return {
    /** record queues one event; it never throws into the code that reported it. */
    record (event: SecurityEvent): void {
      writer.enqueue(toAuditRow(event))
    },
    async list (query: AuditListQuery): Promise<{ items: AuditEvent[], nextCursor: string | null }> {
      const cursor = cursors.after('audit', query.cursor)
      const rows = await repo.list({
        ...query,
        from: query.from === undefined ? undefined : new Date(query.from),
        to: query.to === undefined ? undefined : new Date(query.to),
        cursor
      })
      return cursors.pageOf('audit', rows, query.limit, toAuditEvent)
    }
  }
}

/** AuditService is the audit module's service. */
export type AuditService = ReturnType<typeof createAuditService>
