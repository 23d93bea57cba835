import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'
import { sessions } from '../auth/index.ts'

/**
 * realtimeTickets are one-time WebSocket tickets: a browser cannot set headers on a WebSocket, so it
 * trades its access token for a ticket (30 s, single use, stored as a SHA-256 hash) and puts that in
 * the URL. They live in the database, not the cache, so that spending one is atomic on every node.
 */
export const realtimeTickets = pgTable('realtime_tickets', {
  ...baseColumns(),
  tokenHash: text('token_hash').notNull(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  sessionId: uuid('session_id').notNull().references(() => sessions.id, { onDelete: 'cascade' }),
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull()
}, (t) => [
  uniqueIndex('realtime_tickets_hash_unique').on(t.tokenHash),
  index('realtime_tickets_expires_idx').on(t.expiresAt)
])
