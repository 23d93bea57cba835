import { and, count, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { frontends, type FrontendRow, type FrontendSource } from './table.ts'

/** FrontendInsert is a new frontend row. */
export type FrontendInsert = typeof frontends.$inferInsert
/** FrontendChanges are the columns an update may set. */
export type FrontendChanges = Partial<Omit<FrontendInsert, 'id' | 'name' | 'createdAt' | 'updatedAt'>>

/** createFrontendsRepository holds the frontends queries. */
export function createFrontendsRepository (db: Database) {
  return {
    async insert (values: FrontendInsert, tx: Database = db): Promise<FrontendRow> {
      const [row] = await tx.insert(frontends).values(values).returning()
      return row!
    },
    async find (id: string, tx: Database = db): Promise<FrontendRow | undefined> {
      const [row] = await tx.select().from(frontends).where(eq(frontends.id, id))
      return row
    },
    /** all returns every frontend (the registry is small and bounded): the runtime snapshot and sync read it. */
    async all (tx: Database = db): Promise<FrontendRow[]> {
      return tx.select().from(frontends).orderBy(frontends.name)
    },
    async count (tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(frontends)
      return row?.n ?? 0
    },
    /** lockRegistry serialises registry writes inside a transaction, so the size cap and sync hold under races. */
    async lockRegistry (tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended('frontends:registry', 0))`)
    },
    async list (filter: { enabled?: boolean, source?: FrontendSource }, limit: number, cursor?: Cursor): Promise<FrontendRow[]> {
      const where: SQL[] = []
      if (filter.enabled !== undefined) where.push(eq(frontends.enabled, filter.enabled))
      if (filter.source !== undefined) where.push(eq(frontends.source, filter.source))
      if (cursor) {
        const at = new Date(cursor.at)
        where.push(or(lt(frontends.createdAt, at), and(eq(frontends.createdAt, at), lt(frontends.id, cursor.id)))!)
      }
      return db.select().from(frontends).where(and(...where)).orderBy(desc(frontends.createdAt), desc(frontends.id)).limit(limit + 1)
    },
    async update (id: string, changes: FrontendChanges, tx: Database = db): Promise<FrontendRow | undefined> {
      const [row] = await tx.update(frontends).set({ ...changes, updatedAt: new Date() }).where(eq(frontends.id, id)).returning()
      return row
    },
    async remove (id: string, tx: Database = db): Promise<FrontendRow | undefined> {
      const [row] = await tx.delete(frontends).where(eq(frontends.id, id)).returning()
      return row
    }
  }
}

/** FrontendsRepository is the frontends module's data access. */
export type FrontendsRepository = ReturnType<typeof createFrontendsRepository>
