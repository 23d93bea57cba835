import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'

/**
 * pushVapidKeys hold the deployment's one VAPID key pair (RFC 8292), made at first start. `slot`
 * is unique, so nodes starting at once insert-if-absent and all read the same row; the private key
 * is sealed with the master secret (AES-256-GCM), never stored in clear.
 */
export const pushVapidKeys = pgTable('push_vapid_keys', {
  ...baseColumns(),
  slot: text('slot').notNull().default('current'),
  /** publicKey is the uncompressed P-256 point, base64url (what browsers take as applicationServerKey). */
  publicKey: text('public_key').notNull(),
  privateKeySealed: text('private_key_sealed').notNull()
}, (t) => [uniqueIndex('push_vapid_keys_slot_idx').on(t.slot)])

/** pushSubscriptions are a user's browsers (one row per device's push endpoint) that Web Push messages go to. */
export const pushSubscriptions = pgTable('push_subscriptions', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  endpoint: text('endpoint').notNull(),
  /** p256dh is the browser's P-256 public key (65 bytes, base64url); auth its 16-byte secret (base64url). */
  p256dh: text('p256dh').notNull(),
  auth: text('auth').notNull(),
  deviceName: text('device_name'),
  lastSentAt: timestamp('last_sent_at', { withTimezone: true, mode: 'date', precision: 3 })
}, (t) => [
  uniqueIndex('push_subscriptions_user_endpoint_idx').on(t.userId, t.endpoint),
  index('push_subscriptions_user_idx').on(t.userId, t.createdAt)
])

/** PushSubscriptionRow is a stored subscription (its keys included: they are the browser's public values, yet stay server-side). */
export type PushSubscriptionRow = typeof pushSubscriptions.$inferSelect
