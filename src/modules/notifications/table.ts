import { sql } from 'drizzle-orm'
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'

/** notifications are each user's inbox: one row per (event, type, recipient), made by the rules of the declared types. */
export const notifications = pgTable('notifications', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  title: text('title').notNull(),
  body: text('body').notNull(),
  link: text('link'),
  /** eventId is the published event that made it: a relay pass run twice makes it once. */
  eventId: uuid('event_id').notNull(),
  readAt: timestamp('read_at', { withTimezone: true, mode: 'date', precision: 3 })
}, (t) => [
  uniqueIndex('notifications_event_type_user_unique').on(t.eventId, t.type, t.userId),
  index('notifications_user_created_idx').on(t.userId, t.createdAt, t.id),
  index('notifications_user_unread_idx').on(t.userId).where(sql`${t.readAt} IS NULL`),
  index('notifications_created_idx').on(t.createdAt)
])

/** NotificationRow is a stored notification. */
export type NotificationRow = typeof notifications.$inferSelect

/**
 * notificationDeliveries are the channel deliveries a notification owes (email, push, a team's channel):
 * pending until a delivery job claims them (`batchId`), delivered once that job's channel call succeeded.
 */
export const notificationDeliveries = pgTable('notification_deliveries', {
  ...baseColumns(),
  notificationId: uuid('notification_id').notNull().references(() => notifications.id, { onDelete: 'cascade' }),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  channel: text('channel').notNull(),
  /** batchId is the delivery job that claimed it; a retry of that job delivers the same batch. */
  batchId: uuid('batch_id'),
  deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date', precision: 3 })
}, (t) => [
  uniqueIndex('notification_deliveries_unique').on(t.notificationId, t.channel),
  index('notification_deliveries_pending_idx').on(t.userId, t.channel).where(sql`${t.deliveredAt} IS NULL`)
])

/** notificationPreferences are a user's choices per type and channel, overriding the type's defaults. */
export const notificationPreferences = pgTable('notification_preferences', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  channel: text('channel').notNull(),
  enabled: boolean('enabled').notNull()
}, (t) => [uniqueIndex('notification_preferences_unique').on(t.userId, t.type, t.channel)])
