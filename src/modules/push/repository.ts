import { and, count, desc, eq, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { pushSubscriptions, type PushSubscriptionRow } from './table.ts'

/** NewSubscription is what a subscribe stores. */
export interface NewSubscription { userId: string, endpoint: string, p256dh: string, auth: string, deviceName: string | null }

/** createPushRepository holds the push module's queries. */
export function createPushRepository (db: Database) {
  return {
    /** lockUser serialises one user's subscribes in a transaction, so the cap holds under parallel posts. */
    async lockUser (tx: Database, userId: string): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${'push:' + userId}, 0))`)
    },
    async countForUser (tx: Database, userId: string): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId))
      return row?.n ?? 0
    },
    async findByEndpoint (tx: Database, userId: string, endpoint: string): Promise<PushSubscriptionRow | undefined> {
      const [row] = await tx.select().from(pushSubscriptions).where(and(eq(pushSubscriptions.userId, userId), eq(pushSubscriptions.endpoint, endpoint)))
      return row
    },
    /** upsert stores a subscription, or refreshes the keys and name of the user's row for the same endpoint. */
    async upsert (tx: Database, values: NewSubscription): Promise<PushSubscriptionRow> {
      const [row] = await tx.insert(pushSubscriptions).values(values)
        .onConflictDoUpdate({
          target: [pushSubscriptions.userId, pushSubscriptions.endpoint],
          set: { p256dh: values.p256dh, auth: values.auth, deviceName: values.deviceName, updatedAt: new Date() }
        })
        .returning()
      return row!
    },
    async listForUser (userId: string): Promise<PushSubscriptionRow[]> {
      return db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId)).orderBy(desc(pushSubscriptions.createdAt), desc(pushSubscriptions.id))
    },
    async get (id: string): Promise<PushSubscriptionRow | undefined> {
      const [row] = await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.id, id))
      return row
    },
    /** removeOwned deletes a subscription only if it is the user's; false when there was none. */
    async removeOwned (userId: string, id: string): Promise<boolean> {
      const rows = await db.delete(pushSubscriptions).where(and(eq(pushSubscriptions.id, id), eq(pushSubscriptions.userId, userId))).returning({ id: pushSubscriptions.id })
      return rows.length > 0
    },
    /** removeGone deletes a subscription the push service no longer knows (404/410), only if its endpoint is still the one that answered. */
    async removeGone (id: string, endpoint: string): Promise<void> {
      await db.delete(pushSubscriptions).where(and(eq(pushSubscriptions.id, id), eq(pushSubscriptions.endpoint, endpoint)))
    },
    async markSent (id: string): Promise<void> {
      await db.update(pushSubscriptions).set({ lastSentAt: new Date() }).where(eq(pushSubscriptions.id, id))
    }
  }
}

/** PushRepository is the push module's data access. */
export type PushRepository = ReturnType<typeof createPushRepository>
