import { sql } from 'drizzle-orm'
import { check, index, jsonb, pgTable, text, uuid, varchar } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'

/** AUDIT_OUTCOMES are how an audited action ended. */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const

/** ACTOR_TYPES are the kinds of actor an audit event can name. */
export const ACTOR_TYPES = ['user', 'api-key', 'system', 'anonymous'] as const

/**
 * auditEvents is the append-only audit trail (a trigger refuses UPDATE, DELETE and TRUNCATE, see
 * append-only.ts). `created_at` is the time of the event, not of the batched insert.
 */
export const auditEvents = pgTable('audit_events', {
  ...baseColumns(),
  action: text('action').notNull(),
  outcome: text('outcome', { enum: AUDIT_OUTCOMES }).notNull(),
  // No foreign key: a deleted user keeps their trail.
  actorId: uuid('actor_id'),
  actorType: text('actor_type', { enum: ACTOR_TYPES }).notNull(),
  targetType: text('target_type'),
  targetId: text('target_id'),
  ip: text('ip'),
  userAgent: varchar('user_agent', { length: 512 }),
  requestId: text('request_id'),
  details: jsonb('details').$type<Record<string, unknown>>().notNull().default({})
}, (t) => [
  index('audit_events_created_at_idx').on(t.createdAt, t.id),
  index('audit_events_actor_idx').on(t.actorId, t.createdAt),
  // text_pattern_ops serves both `action = $1` and the prefix filter `action LIKE 'auth.%'`.
  index('audit_events_action_idx').on(t.action.op('text_pattern_ops'), t.createdAt),
  index('audit_events_target_idx').on(t.targetType, t.targetId, t.createdAt),
  check('audit_events_outcome_check', sql`${t.outcome} IN ('success', 'failure', 'denied')`),
  check('audit_events_actor_type_check', sql`${t.actorType} IN ('user', 'api-key', 'system', 'anonymous')`)
])

/** AuditRow is a stored audit event. */
export type AuditRow = typeof auditEvents.$inferSelect

/** AuditInsert is an audit event ready to insert (id and time set when the event happened). */
export type AuditInsert = typeof auditEvents.$inferInsert
