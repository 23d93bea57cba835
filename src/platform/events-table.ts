import { sql } from 'drizzle-orm'
import { bigint, bigserial, index, jsonb, pgSequence, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { baseColumns } from './columns.ts'

/**
 * outbox holds every domain event, written in the same transaction as the change it describes.
 * `seq` is insert order (a later write to the same row always gets a larger one); `position` is
 * the publication order the relay assigns, which clients resume from; rows stay for the retention
 * window after `published_at` so reconnecting clients can replay.
 */
export const outbox = pgTable('outbox', {
  ...baseColumns(),
  seq: bigserial('seq', { mode: 'number' }).notNull(),
  type: text('type').notNull(),
  aggregate: text('aggregate').notNull(),
  channels: text('channels').array().notNull().default(sql`ARRAY[]::text[]`),
  data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  /** traceContext is the W3C trace context of the transaction that recorded the event (null without tracing): the relay continues that trace. */
  traceContext: jsonb('trace_context').$type<Record<string, string>>(),
  position: bigint('position', { mode: 'number' }),
  publishedAt: timestamp('published_at', { withTimezone: true, precision: 3 })
}, (t) => [
  index('outbox_unpublished_idx').on(t.seq).where(sql`${t.publishedAt} IS NULL`),
  uniqueIndex('outbox_position_unique').on(t.position),
  index('outbox_published_idx').on(t.publishedAt)
])

/** outboxPosition numbers events in the order the relay publishes them. */
export const outboxPosition = pgSequence('outbox_position_seq')

/** OutboxRow is a stored event. */
export type OutboxRow = typeof outbox.$inferSelect
