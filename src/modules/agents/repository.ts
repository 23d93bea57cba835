import { and, arrayContains, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { agentEvents, agents, type AgentRow, type AgentStatus } from './table.ts'

/** AgentScope says which agents a caller can see: every one, or those of the listed projects. */
export type AgentScope = 'all' | string[]

function keyset (cursor: Cursor | undefined, table: typeof agents | typeof agentEvents): SQL | undefined {
  if (!cursor) return undefined
  const at = new Date(cursor.at)
  return or(lt(table.createdAt, at), and(eq(table.createdAt, at), lt(table.id, cursor.id)))
}

/** createAgentsRepository holds the agents and agent_events queries. */
export function createAgentsRepository (db: Database) {
  return {
    async insert (values: typeof agents.$inferInsert, tx: Database = db): Promise<AgentRow> {
      const [row] = await tx.insert(agents).values(values).returning()
      return row!
    },
    async find (id: string, tx: Database = db): Promise<AgentRow | undefined> {
      const [row] = await tx.select().from(agents).where(eq(agents.id, id))
      return row
    },
    async update (id: string, changes: Partial<typeof agents.$inferInsert>, tx: Database = db): Promise<AgentRow | undefined> {
      const [row] = await tx.update(agents).set(changes).where(eq(agents.id, id)).returning()
      return row
    },
    /** lock holds the agent row until the transaction ends: a task naming the agent (its foreign key) waits for it. */
    async lock (id: string, tx: Database): Promise<void> {
      await tx.select({ id: agents.id }).from(agents).where(eq(agents.id, id)).for('update')
    },
    async remove (id: string, tx: Database = db): Promise<void> {
      await tx.delete(agents).where(eq(agents.id, id))
    },
    async countInProject (projectId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(agents).where(eq(agents.projectId, projectId))
      return row?.n ?? 0
    },
    /** list pages the agents in scope, newest first. */
    async list (scope: AgentScope, filter: { projectId?: string, status?: AgentStatus, label?: string }, limit: number, cursor?: Cursor): Promise<AgentRow[]> {
      const where: Array<SQL | undefined> = [keyset(cursor, agents)]
      if (scope !== 'all') {
        if (scope.length === 0) return []
        where.push(inArray(agents.projectId, scope))
      }
      if (filter.projectId) where.push(eq(agents.projectId, filter.projectId))
      if (filter.status) where.push(eq(agents.status, filter.status))
      if (filter.label) where.push(arrayContains(agents.labels, [filter.label]))
      return db.select().from(agents).where(and(...where)).orderBy(desc(agents.createdAt), desc(agents.id)).limit(limit + 1)
    },
    async addEvent (values: typeof agentEvents.$inferInsert, tx: Database = db): Promise<void> {
      await tx.insert(agentEvents).values(values)
    },
    async events (agentId: string, limit: number, cursor?: Cursor) {
      return db.select().from(agentEvents).where(and(eq(agentEvents.agentId, agentId), keyset(cursor, agentEvents)))
        .orderBy(desc(agentEvents.createdAt), desc(agentEvents.id)).limit(limit + 1)
    },
    /** setStatus moves an agent to a status and returns the previous one, or undefined when it was already there. */
    async setStatus (id: string, status: AgentStatus, touch: boolean, tx: Database = db, onlyFrom?: AgentStatus): Promise<{ from: AgentStatus } | undefined> {
      const result = await tx.execute<{ from: AgentStatus }>(sql`
        UPDATE agents AS a SET status = ${status}, updated_at = now()
          ${touch ? sql`, last_seen_at = now()` : sql``}
        FROM (SELECT id, status FROM agents WHERE id = ${id} FOR NO KEY UPDATE) AS old
        WHERE a.id = old.id AND old.status <> ${status} ${onlyFrom ? sql`AND old.status = ${onlyFrom}` : sql``}
        RETURNING old.status AS "from"`)
      return result.rows[0]
    },
    /** touch records a sign of life without changing the status. */
    async touch (id: string, changes: { version?: string, labels?: string[] }, tx: Database = db): Promise<void> {
      await tx.update(agents).set({ lastSeenAt: sql`now()`, ...changes }).where(eq(agents.id, id))
    },
    /** markStaleOffline moves agents silent for `seconds` to offline; each returned once, whatever the number of nodes. */
    async markStaleOffline (seconds: number, now: Date, tx: Database = db): Promise<Array<{ id: string, from: AgentStatus }>> {
      const result = await tx.execute<{ id: string, from: AgentStatus }>(sql`
        UPDATE agents AS a SET status = 'offline', updated_at = now()
        FROM (SELECT id, status FROM agents
              WHERE status <> 'offline' AND (last_seen_at IS NULL OR last_seen_at < ${now.toISOString()}::timestamptz - make_interval(secs => ${seconds}))
              FOR NO KEY UPDATE SKIP LOCKED) AS old
        WHERE a.id = old.id
        RETURNING a.id, old.status AS "from"`)
      return result.rows
    },
    async isDisabled (id: string): Promise<boolean> {
      const [row] = await db.select({ id: agents.id }).from(agents).where(and(eq(agents.id, id), isNull(agents.disabledAt)))
      return !row
    }
  }
}

/** AgentsRepository is the agents module's data access. */
export type AgentsRepository = ReturnType<typeof createAgentsRepository>
