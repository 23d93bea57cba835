import { sql } from 'drizzle-orm'
import { index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'

/** users are the people who sign in; soft-deleted rows keep their id for the audit trail. */
export const users = pgTable('users', {
  ...baseColumns(),
  email: text('email').notNull(),
  name: text('name').notNull().default(''),
  passwordHash: text('password_hash'),
  roles: text('roles').array().notNull().default(sql`ARRAY['user']::text[]`),
  status: text('status', { enum: ['active', 'disabled', 'deleted'] }).notNull().default('active'),
  emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
  failedLogins: integer('failed_logins').notNull().default(0),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  deletedAt: timestamp('deleted_at', { withTimezone: true })
}, (t) => [
  // One live account per email; a deleted account frees its address.
  uniqueIndex('users_email_live_unique').on(t.email).where(sql`${t.deletedAt} IS NULL`),
  index('users_created_at_idx').on(t.createdAt, t.id)
])

/** UserRow is a stored user, password hash included: never sent to a client. */
export type UserRow = typeof users.$inferSelect
