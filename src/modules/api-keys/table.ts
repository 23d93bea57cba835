import { sql } from 'drizzle-orm'
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'
import { agents } from '../agents/index.ts'
import { frontends } from '../frontends/index.ts'

/**
 * apiKeys are a user's `bp_<prefix>_<secret>` keys: the public prefix in clear (display and lookup),
 * the key itself only as a SHA-256 hash.
 */
export const apiKeys = pgTable('api_keys', {
  ...baseColumns(),
  /** userId owns the key; null only for a frontend's key, which belongs to no one and grants no permission. */
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  prefix: text('prefix').notNull(),
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes').array().notNull().default(sql`ARRAY[]::text[]`),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  /** expiryNoticeAt is when the owner was told the key expires soon (once per key; NOTIFICATIONS_KEY_EXPIRY_DAYS ahead). */
  expiryNoticeAt: timestamp('expiry_notice_at', { withTimezone: true }),
  /** agentId binds the key to an agent: it acts with the agent role and is managed through the agent, not /api-keys. */
  agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'cascade' }),
  /** frontendId binds the key to a registered frontend: a public client id, managed through the frontend. */
  frontendId: uuid('frontend_id').references(() => frontends.id, { onDelete: 'cascade' })
}, (t) => [
  uniqueIndex('api_keys_prefix_unique').on(t.prefix),
  index('api_keys_user_created_idx').on(t.userId, t.createdAt, t.id),
  // A key has an owner unless it is a frontend's.
  check('api_keys_owner_check', sql`${t.userId} IS NOT NULL OR ${t.frontendId} IS NOT NULL`)
])

/** ApiKeyRow is a stored key, hash included: never sent to a client. */
export type ApiKeyRow = typeof apiKeys.$inferSelect
