import { and, asc, count, desc, eq, ilike, isNotNull, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { tasks, type TaskRow } from './table.ts'

/** TaskValues are the columns a create or an update writes. */
export type TaskValues = Partial<typeof tasks.$inferInsert>

// `q` is matched literally: its %, _ and \ are escaped (backslash is ILIKE's default escape).
function containsPattern (q: string): string {
  return `%${q.replace(/[\\%_]/g, '\\$&')}%`
}

/** createTasksRepository holds the tasks queries. */
export function createTasksRepository (db: Database) {
  return {
    async insert (values: typeof tasks.$inferInsert, tx: Database = db): Promise<TaskRow> {
      const [row] = await tx.insert(tasks).values(values).returning()
      return row!
    },
    async find (id: string, tx: Database = db): Promise<TaskRow | undefined> {
      const [row] = await tx.select().from(tasks).where(eq(tasks.id, id))
      return row
    },
    /** findForUpdate reads a task and locks it until the transaction ends (updates and the scheduler queue behind it). */
    async findForUpdate (id: string, tx: Database): Promise<TaskRow | undefined> {
      const [row] = await tx.select().from(tasks).where(eq(tasks.id, id)).for('update')
      return row
    },
    async update (id: string, values: TaskValues, tx: Database = db): Promise<TaskRow | undefined> {
      const [row] = await tx.update(tasks).set(values).where(eq(tasks.id, id)).returning()
      return row
    },
    async delete (id: string, tx: Database = db): Promise<void> {
      await tx.delete(tasks).where(eq(tasks.id, id))
    },
    async countInProject (projectId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(tasks).where(eq(tasks.projectId, projectId))
      return row?.n ?? 0
    },
    /** countTargeting counts the tasks that run only on the agent. */
    async countTargeting (agentId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(tasks).where(eq(tasks.targetAgentId, agentId))
      return row?.n ?? 0
    },
    /** lockProject serialises task creation per project inside a transaction, so the per-project cap holds under races. */
    async lockProject (projectId: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`tasks:${projectId}`}, 0))`)
    },
    /** list returns one page (plus one row, to tell whether there is a next page) of a project's tasks, newest first. */
    async list (projectId: string, limit: number, filter: { cursor?: Cursor, enabled?: boolean, q?: string }): Promise<TaskRow[]> {
      const where: SQL[] = [eq(tasks.projectId, projectId)]
      if (filter.enabled !== undefined) where.push(eq(tasks.enabled, filter.enabled))
      if (filter.q) where.push(ilike(tasks.name, containsPattern(filter.q)))
      if (filter.cursor) {
        const at = new Date(filter.cursor.at)
        where.push(or(lt(tasks.createdAt, at), and(eq(tasks.createdAt, at), lt(tasks.id, filter.cursor.id)))!)
      }
      return db.select().from(tasks).where(and(...where)).orderBy(desc(tasks.createdAt), desc(tasks.id)).limit(limit + 1)
    },
    /**
     * claimDue locks up to `limit` enabled tasks due at `now`, oldest slot first. Rows another
     * transaction holds (another node claiming them, or an update in flight) are skipped, not waited for.
     */
    async claimDue (now: Date, limit: number, tx: Database): Promise<TaskRow[]> {
      return tx.select().from(tasks)
        .where(and(eq(tasks.enabled, true), isNotNull(tasks.nextRunAt), lte(tasks.nextRunAt, now)))
        .orderBy(asc(tasks.nextRunAt), asc(tasks.id))
        .limit(limit)
        .for('no key update', { skipLocked: true })
    }
  }
}

/** TasksRepository is the tasks module's data access. */
export type TasksRepository = ReturnType<typeof createTasksRepository>
