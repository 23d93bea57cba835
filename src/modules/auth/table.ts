import { sql } from 'drizzle-orm'
import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'

/** sessions are sign-ins: one per login, the family every refresh token of that login belongs to. */
export const sessions = pgTable('sessions', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  userAgent: text('user_agent'),
  ip: text('ip'),
  audience: text('audience').notNull(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  revokedReason: text('revoked_reason')
}, (t) => [index('sessions_user_idx').on(t.userId, t.revokedAt)])

/** refreshTokens are the rotating refresh tokens of a session, stored as SHA-256 hashes only. */
export const refreshTokens = pgTable('refresh_tokens', {
  ...baseColumns(),
  sessionId: uuid('session_id').notNull().references(() => sessions.id, { onDelete: 'cascade' }),
  tokenHash: text('token_hash').notNull(),
  parentId: uuid('parent_id'),
  rotatedAt: timestamp('rotated_at', { withTimezone: true }),
  replacedById: uuid('replaced_by_id')
}, (t) => [uniqueIndex('refresh_tokens_hash_unique').on(t.tokenHash), index('refresh_tokens_session_idx').on(t.sessionId)])

/** signingKeys are the Ed25519 keys access tokens are signed with; private halves sealed under BACKPLANE_SECRET. */
export const signingKeys = pgTable('signing_keys', {
  ...baseColumns(),
  kid: text('kid').notNull(),
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  privateKeySealed: text('private_key_sealed').notNull(),
  status: text('status', { enum: ['active', 'retired'] }).notNull(),
  retiredAt: timestamp('retired_at', { withTimezone: true })
}, (t) => [
  uniqueIndex('signing_keys_kid_unique').on(t.kid),
  // At most one active key, whatever several nodes do at once.
  uniqueIndex('signing_keys_one_active').on(t.status).where(sql`${t.status} = 'active'`)
])

/** oneTimeTokens are single-use, expiring, hashed tokens: email verification, password reset, invitations. */
export const oneTimeTokens = pgTable('one_time_tokens', {
  ...baseColumns(),
  purpose: text('purpose', { enum: ['verify_email', 'reset_password', 'invite', 'change_email'] }).notNull(),
  tokenHash: text('token_hash').notNull(),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  email: text('email'),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true })
}, (t) => [uniqueIndex('one_time_tokens_hash_unique').on(t.tokenHash)])
