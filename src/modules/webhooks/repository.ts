import { and, asc, count, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { webhooks, type WebhookRow } from './table.ts'

/** createWebhooksRepository holds the webhooks queries; project scoping is the service's job. */
export function createWebhooksRepository (db: Database) {
  return {
    async insert (values: typeof webhooks.$inferInsert, tx: Database = db): Promise<WebhookRow> {
      const [row] = await tx.insert(webhooks).values(values).returning()
      return row!
    },
    async find (id: string, tx: Database = db): Promise<WebhookRow | undefined> {
      const [row] = await tx.select().from(webhooks).where(eq(webhooks.id, id))
      return row
    },
    async findForUpdate (id: string, tx: Database): Promise<WebhookRow | undefined> {
      const [row] = await tx.select().from(webhooks).where(eq(webhooks.id, id)).for('update')
      return row
    },
    async countInProject (projectId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(webhooks).where(eq(webhooks.projectId, projectId))
      return row?.n ?? 0
    },
    /** lockProject serialises endpoint creation per project inside a transaction, so the cap holds under races. */
    async lockProject (projectId: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`webhooks:${projectId}`}, 0))`)
    },
    /** list returns one page of a project's endpoints, newest first, with a keyset cursor. */
    async list (projectId: string, limit: number, cursor?: Cursor): Promise<WebhookRow[]> {
      const where: SQL[] = [eq(webhooks.projectId, projectId)]
      if (cursor) {
        const at = new Date(cursor.at)
        where.push(or(lt(webhooks.createdAt, at), and(eq(webhooks.createdAt, at), lt(webhooks.id, cursor.id)))!)
      }
      return db.select().from(webhooks).where(and(...where)).orderBy(desc(webhooks.createdAt), desc(webhooks.id)).limit(limit + 1)
    },
    /** subscribed lists a project's enabled endpoints that take this event type (exactly, or through `*`). */
    async subscribed (projectId: string, type: string, tx: Database): Promise<Array<{ id: string }>> {
      return tx.select({ id: webhooks.id }).from(webhooks)
        .where(and(eq(webhooks.projectId, projectId), eq(webhooks.enabled, true),
          sql`${webhooks.eventTypes} && ARRAY[${type}, '*']::text[]`))
        .orderBy(asc(webhooks.id))
    },
    async update (id: string, values: Partial<typeof webhooks.$inferInsert>, tx: Database = db): Promise<WebhookRow | undefined> {
      const [row] = await tx.update(webhooks).set(values).where(eq(webhooks.id, id)).returning()
      return row
    },
    async delete (id: string, tx: Database = db): Promise<void> {
      await tx.delete(webhooks).where(eq(webhooks.id, id))
    },
    /** recordSuccess resets the failure streak. */
    async recordSuccess (id: string, tx: Database): Promise<void> {
      await tx.update(webhooks).set({ consecutiveFailures: 0, lastSuccessAt: sql`now()` }).where(eq(webhooks.id, id))
    },
    /** recordFailure lengthens the failure streak; `disable` (a 410 Gone) also stops the endpoint. */
    async recordFailure (id: string, tx: Database, disable?: string): Promise<void> {
      await tx.update(webhooks).set({
        consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1`,
        lastFailureAt: sql`now()`,
        ...(disable ? { enabled: false, disabledReason: disable, disabledAt: sql`now()` } : {})
      }).where(eq(webhooks.id, id))
    }
  }
}

/** WebhooksRepository is the webhooks module's endpoint data access. */
export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>
