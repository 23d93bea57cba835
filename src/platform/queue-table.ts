import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { baseColumns } from './columns.ts'

/**
 * queueOutbox is the record that a job was accepted when jobs run on RabbitMQ: a send inserts a
 * row (inside the caller's transaction when it passes one), a relay publishes due rows with
 * publisher confirms and marks them published. The id is the job id, so a second send with the
 * same id is ignored while the row is kept (published rows are purged after a day).
 */
export const queueOutbox = pgTable('queue_outbox', {
  ...baseColumns(),
  name: text('name').notNull(),
  data: jsonb('data').$type<unknown>(),
  /** traceContext is the sender's W3C trace context (null without tracing); the relay puts it in the message's headers. */
  traceContext: jsonb('trace_context').$type<Record<string, string>>(),
  retryLimit: integer('retry_limit').notNull(),
  retryDelaySeconds: integer('retry_delay_seconds').notNull(),
  retryBackoff: boolean('retry_backoff').notNull(),
  /** availableAt is when the job may be published (a send's startAfter). */
  availableAt: timestamp('available_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  publishedAt: timestamp('published_at', { withTimezone: true, precision: 3 })
}, (t) => [
  index('queue_outbox_due_idx').on(t.availableAt).where(sql`${t.publishedAt} IS NULL`),
  index('queue_outbox_published_idx').on(t.publishedAt).where(sql`${t.publishedAt} IS NOT NULL`)
])
