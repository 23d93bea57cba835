import { and, asc, count, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm'
import type { Cursor } from '../../lib/cursor.ts'
import type { Database } from '../../platform/db.ts'
import { notificationDeliveries, notificationPreferences, notifications, type NotificationRow } from './table.ts'

/** NewNotification is what a rule makes for one recipient of one event. */
export interface NewNotification { userId: string, type: string, title: string, body: string, link: string | null, eventId: string }

/** createNotificationsRepository holds the notifications queries: Drizzle only, no rules. */
export function createNotificationsRepository (db: Database) {
  const owned = (userId: string, id: string) => and(eq(notifications.id, id), eq(notifications.userId, userId))
  return {
    /** insert stores a notification once per (event, type, user); a second try gives undefined. */
    async insert (values: NewNotification, tx: Database): Promise<NotificationRow | undefined> {
      const [row] = await tx.insert(notifications).values(values).onConflictDoNothing().returning()
      return row
    },
    async list (userId: string, query: { limit: number, unread: boolean }, cursor?: Cursor): Promise<NotificationRow[]> {
      const where = [eq(notifications.userId, userId)]
      if (query.unread) where.push(isNull(notifications.readAt))
      if (cursor) {
        const at = new Date(cursor.at)
        where.push(or(lt(notifications.createdAt, at), and(eq(notifications.createdAt, at), lt(notifications.id, cursor.id)))!)
      }
      return db.select().from(notifications).where(and(...where))
        .orderBy(desc(notifications.createdAt), desc(notifications.id)).limit(query.limit + 1)
    },
    async unreadCount (userId: string): Promise<number> {
      const [row] = await db.select({ n: count() }).from(notifications).where(and(eq(notifications.userId, userId), isNull(notifications.readAt)))
      return row?.n ?? 0
    },
    async findOwned (userId: string, id: string): Promise<NotificationRow | undefined> {
      const [row] = await db.select().from(notifications).where(owned(userId, id))
      return row
    },
    /** markRead sets read_at once (a second call keeps the first time). */
    async markRead (userId: string, id: string): Promise<NotificationRow | undefined> {
      const [row] = await db.update(notifications).set({ readAt: sql`coalesce(${notifications.readAt}, now())` }).where(owned(userId, id)).returning()
      return row
    },
    async markAllRead (userId: string): Promise<number> {
      const rows = await db.update(notifications).set({ readAt: new Date() })
        .where(and(eq(notifications.userId, userId), isNull(notifications.readAt))).returning({ id: notifications.id })
      return rows.length
    },
    async remove (userId: string, id: string): Promise<boolean> {
      const rows = await db.delete(notifications).where(owned(userId, id)).returning({ id: notifications.id })
      return rows.length > 0
    },
    /** deleteOlderThan drops notifications (and their deliveries) made before `before`, at most `limit` at a time. */
    async deleteOlderThan (before: Date, limit: number): Promise<number> {
      const result = await db.execute(sql`DELETE FROM ${notifications} WHERE id IN (SELECT id FROM ${notifications} WHERE created_at < ${before.toISOString()} LIMIT ${limit})`)
      return result.rowCount ?? 0
    },
    async preferences (userId: string, tx: Database = db) {
      return tx.select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId))
    },
    async setPreferences (userId: string, choices: Array<{ type: string, channel: string, enabled: boolean }>, tx: Database = db): Promise<void> {
      if (choices.length === 0) return
      await tx.insert(notificationPreferences).values(choices.map((c) => ({ userId, ...c })))
        .onConflictDoUpdate({ target: [notificationPreferences.userId, notificationPreferences.type, notificationPreferences.channel], set: { enabled: sql`excluded.enabled`, updatedAt: new Date() } })
    },
    /**
     * addDelivery records a channel delivery and tells whether a job must be scheduled for it: only
     * when no other unclaimed delivery of that user and channel waits (that one's job takes it too).
     * The caller holds the (user, channel) lock, as the claim does.
     */
    async addDelivery (notificationId: string, userId: string, channel: string, tx: Database): Promise<boolean> {
      const [waiting] = await tx.select({ id: notificationDeliveries.id }).from(notificationDeliveries)
        .where(and(eq(notificationDeliveries.userId, userId), eq(notificationDeliveries.channel, channel), isNull(notificationDeliveries.deliveredAt), isNull(notificationDeliveries.batchId)))
        .limit(1)
      await tx.insert(notificationDeliveries).values({ notificationId, userId, channel }).onConflictDoNothing()
      return !waiting
    },
    /** lock serialises scheduling and claiming of one user's deliveries on one channel (until the transaction ends). */
    async lock (userId: string, channel: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`notifications:${userId}:${channel}`}, 0))`)
    },
    /** claim gives every unclaimed pending delivery of (user, channel) to the batch; earlier claims by it stay. */
    async claim (batchId: string, userId: string, channel: string, tx: Database): Promise<void> {
      await tx.update(notificationDeliveries).set({ batchId })
        .where(and(eq(notificationDeliveries.userId, userId), eq(notificationDeliveries.channel, channel), isNull(notificationDeliveries.deliveredAt), isNull(notificationDeliveries.batchId)))
    },
    /** batch is what a delivery job sends: its claimed, undelivered notifications, oldest first. */
    async batch (batchId: string): Promise<NotificationRow[]> {
      const rows = await db.select({ n: notifications }).from(notificationDeliveries)
        .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
        .where(and(eq(notificationDeliveries.batchId, batchId), isNull(notificationDeliveries.deliveredAt)))
        .orderBy(asc(notifications.createdAt), asc(notifications.id))
      return rows.map((r) => r.n)
    },
    async markDelivered (batchId: string, ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return
      await db.update(notificationDeliveries).set({ deliveredAt: new Date() })
        .where(and(eq(notificationDeliveries.batchId, batchId), inArray(notificationDeliveries.notificationId, [...ids])))
    }
  }
}

/** NotificationsRepository is the notifications module's queries. */
export type NotificationsRepository = ReturnType<typeof createNotificationsRepository>
