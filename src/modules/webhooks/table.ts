import { sql } from 'drizzle-orm'
import { boolean, check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { projects } from '../projects/index.ts'

// Millisecond precision, like a JavaScript Date: a time read back and handed to the queue as a
// job's start time compares equal to the stored one.
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 })

/**
 * webhooks are a project's endpoints: where events go, which types, and the signing secret, kept
 * sealed (AES-256-GCM) because signing needs it in clear. After a rotation the previous secret
 * keeps signing beside the new one until `previous_secret_expires_at`.
 */
export const webhooks = pgTable('webhooks', {
  ...baseColumns(),
  projectId: uuid('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  url: text('url').notNull(),
  description: text('description').notNull().default(''),
  /** eventTypes are exact event types, or `*` for every type. */
  eventTypes: text('event_types').array().notNull(),
  secretSealed: text('secret_sealed').notNull(),
  previousSecretSealed: text('previous_secret_sealed'),
  previousSecretExpiresAt: at('previous_secret_expires_at'),
  enabled: boolean('enabled').notNull().default(true),
  /** disabledReason says why deliveries stopped (410 Gone, or disabled by a member); null while enabled. */
  disabledReason: text('disabled_reason'),
  disabledAt: at('disabled_at'),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  lastSuccessAt: at('last_success_at'),
  lastFailureAt: at('last_failure_at')
}, (t) => [
  index('webhooks_project_idx').on(t.projectId, t.createdAt, t.id)
])

/** WebhookRow is a stored endpoint, sealed secrets included: never sent to a client. */
export type WebhookRow = typeof webhooks.$inferSelect

/** DeliveryStatus: waiting for an attempt, delivered, stopped early (410, endpoint disabled), or out of attempts. */
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'gave_up'

/**
 * webhookDeliveries are one event on its way to one endpoint: the exact body to sign and send,
 * the attempts so far, and the outcome of the last one. `leased_until` marks an attempt in flight
 * (it bounds the endpoint's concurrency and lets a crashed worker's attempt be taken over).
 */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  ...baseColumns(),
  webhookId: uuid('webhook_id').notNull().references(() => webhooks.id, { onDelete: 'cascade' }),
  eventId: uuid('event_id').notNull(),
  eventType: text('event_type').notNull(),
  /** body is the JSON text sent and signed, the same bytes on every attempt. */
  body: text('body').notNull(),
  status: text('status').$type<DeliveryStatus>().notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: at('next_attempt_at'),
  leasedUntil: at('leased_until'),
  lastAttemptAt: at('last_attempt_at'),
  lastStatusCode: integer('last_status_code'),
  lastError: text('last_error'),
  /** responseExcerpt is the start of the last response body, at most 1 KiB. */
  responseExcerpt: text('response_excerpt'),
  durationMs: integer('duration_ms'),
  completedAt: at('completed_at'),
  redeliveredAt: at('redelivered_at')
}, (t) => [
  uniqueIndex('webhook_deliveries_webhook_event_unique').on(t.webhookId, t.eventId),
  index('webhook_deliveries_webhook_created_idx').on(t.webhookId, t.createdAt, t.id),
  index('webhook_deliveries_in_flight_idx').on(t.webhookId).where(sql`${t.leasedUntil} IS NOT NULL`),
  check('webhook_deliveries_status_check', sql`${t.status} IN ('pending', 'succeeded', 'failed', 'gave_up')`)
])

/** DeliveryRow is a stored delivery. */
export type DeliveryRow = typeof webhookDeliveries.$inferSelect
