import { boolean, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'

/**
 * nodes is presence: each running node (one `backplane start`) keeps a row, keyed by an id it
 * draws at start, and touches `seen_at` (the database's clock) every few seconds. A node whose row
 * is older than a few beats is gone (crashed or cut off); a node that stops cleanly deletes its row.
 */
export const nodes = pgTable('nodes', {
  ...baseColumns(),
  name: text('name').notNull(),
  version: text('version').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  seenAt: timestamp('seen_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  ready: boolean('ready').notNull()
}, (t) => [index('nodes_seen_at_idx').on(t.seenAt)])
