import { and, desc, eq, gte, inArray, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { executions, type ExecutionRow, type ExecutionStatus } from './table.ts'

/** ExecutionScope says whose executions a caller sees: all, those of some projects, or one agent's. */
export type ExecutionScope = { kind: 'all' } | { kind: 'projects', ids: string[] } | { kind: 'agent', agentId: string }

/** ExecutionFilter narrows a list. */
export interface ExecutionFilter { projectId?: string, taskId?: string, agentId?: string, status?: ExecutionStatus, from?: string, to?: string }

/** ClaimingAgent is what the claim query matches work against. */
export interface ClaimingAgent { id: string, projectId: string | null, labels: string[] }

type Row = Record<string, unknown>
// Raw SQL (UPDATE … RETURNING e.*) gives snake_case columns; map them back to the Drizzle row shape.
const columns = Object.entries(executions).filter(([, c]) => typeof c === 'object' && c !== null && 'name' in c) as Array<[string, { name: string }]>
function fromRaw (row: Row): ExecutionRow {
  const out: Row = {}
  for (const [key, column] of columns) {
    const value = row[column.name]
    out[key] = typeof value === 'string' && /_at$|^slot$|^lease_until$/.test(column.name) ? new Date(value) : value
  }
  return out as unknown as ExecutionRow
}

/** createExecutionsRepository holds the executions queries, the claim and the lease sweep among them. */
export function createExecutionsRepository (db: Database) {
  return {
    /** insert adds a run; a duplicate (task, slot, attempt), retry or idempotency key changes nothing and gives undefined. */
    async insert (values: typeof executions.$inferInsert, tx: Database = db): Promise<ExecutionRow | undefined> {
      const [row] = await tx.insert(executions).values(values).onConflictDoNothing().returning()
      return row
    },
    /** insertMany adds runs in one statement; it gives those added (a duplicate changes nothing and is left out). */
    async insertMany (values: Array<typeof executions.$inferInsert>, tx: Database = db): Promise<ExecutionRow[]> {
      if (values.length === 0) return []
      return tx.insert(executions).values(values).onConflictDoNothing().returning()
    },
    async find (id: string, tx: Database = db): Promise<ExecutionRow | undefined> {
      const [row] = await tx.select().from(executions).where(eq(executions.id, id))
      return row
    },
    async findByIdempotencyKey (userId: string, key: string): Promise<ExecutionRow | undefined> {
      const [row] = await db.select().from(executions).where(and(eq(executions.requestedBy, userId), eq(executions.idempotencyKey, key)))
      return row
    },
    /** lockQueue serialises run-now requests of one task until the transaction ends, so the queued cap holds under bursts. */
    async lockQueue (taskId: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`executions:queued:${taskId}`}, 0))`)
    },
    async countQueued (taskId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(executions).where(and(eq(executions.taskId, taskId), eq(executions.status, 'queued')))
      return row?.n ?? 0
    },
    async list (scope: ExecutionScope, filter: ExecutionFilter, limit: number, cursor?: Cursor): Promise<ExecutionRow[]> {
      const where: Array<SQL | undefined> = []
      if (scope.kind === 'projects') {
        if (scope.ids.length === 0) return []
        where.push(inArray(executions.projectId, scope.ids))
      } else if (scope.kind === 'agent') where.push(eq(executions.agentId, scope.agentId))
      if (filter.projectId) where.push(eq(executions.projectId, filter.projectId))
      if (filter.taskId) where.push(eq(executions.taskId, filter.taskId))
      if (filter.agentId) where.push(eq(executions.agentId, filter.agentId))
      if (filter.status) where.push(eq(executions.status, filter.status))
      if (filter.from) where.push(gte(executions.createdAt, new Date(filter.from)))
      if (filter.to) where.push(lt(executions.createdAt, new Date(filter.to)))
      if (cursor) {
        const at = new Date(cursor.at)
        where.push(or(lt(executions.createdAt, at), and(eq(executions.createdAt, at), lt(executions.id, cursor.id))))
      }
      return db.select().from(executions).where(and(...where)).orderBy(desc(executions.createdAt), desc(executions.id)).limit(limit + 1)
    },
    /**
     * claim hands the oldest claimable run to the agent: queued, due, of a task that still exists,
     * in the agent's project (a global agent serves all), aimed at this agent or at labels it all has.
     * FOR UPDATE SKIP LOCKED: concurrent claims on any number of nodes never get the same run.
     */
    async claim (agent: ClaimingAgent, leaseSeconds: number, tx: Database): Promise<ExecutionRow | undefined> {
      const labels = sql`ARRAY[${sql.join(agent.labels.length ? agent.labels.map((l) => sql`${l}`) : [sql`NULL`], sql`, `)}]::text[]`
      const result = await tx.execute<Row>(sql`
        UPDATE executions AS e
        SET status = 'running', agent_id = ${agent.id}, started_at = now(), updated_at = now(),
            lease_until = now() + make_interval(secs => ${leaseSeconds})
        FROM (
          SELECT id FROM executions
          WHERE status = 'queued' AND available_at <= now() AND task_id IS NOT NULL
            ${agent.projectId === null ? sql`` : sql`AND project_id = ${agent.projectId}`}
            AND (target_agent_id = ${agent.id} OR (target_agent_id IS NULL AND target_labels <@ ${labels}))
          ORDER BY available_at, id
          LIMIT 1
          FOR UPDATE SKIP LOCKED
        ) AS next
        WHERE e.id = next.id
        RETURNING e.*`)
      const row = result.rows[0]
      return row ? fromRaw(row) : undefined
    },
    /** report updates a run only while it is running on this agent, extending its lease. */
    async report (id: string, agentId: string, leaseSeconds: number, changes: { progress?: number, log?: string, logMax: number }, tx: Database = db): Promise<ExecutionRow | undefined> {
      const result = await tx.execute<Row>(sql`
        UPDATE executions SET updated_at = now(), lease_until = now() + make_interval(secs => ${leaseSeconds})
          ${changes.progress === undefined ? sql`` : sql`, progress = ${changes.progress}`}
          ${changes.log === undefined ? sql`` : sql`, logs = right(logs || ${changes.log}, ${changes.logMax})`}
        WHERE id = ${id} AND agent_id = ${agentId} AND status = 'running'
        RETURNING *`)
      const row = result.rows[0]
      return row ? fromRaw(row) : undefined
    },
    /** finish moves a running run of this agent to its end state. */
    async finish (id: string, agentId: string | null, end: { status: ExecutionStatus, result?: unknown, error?: string | null, log?: string, logMax: number }, tx: Database): Promise<ExecutionRow | undefined> {
      const result = await tx.execute<Row>(sql`
        UPDATE executions SET status = ${end.status}, finished_at = now(), updated_at = now(), lease_until = NULL,
          result = ${end.result === undefined ? null : JSON.stringify(end.result)}::jsonb, error = ${end.error ?? null}
          ${end.log === undefined ? sql`` : sql`, logs = right(logs || ${end.log}, ${end.logMax})`}
        WHERE id = ${id} AND status = 'running' ${agentId === null ? sql`` : sql`AND agent_id = ${agentId}`}
        RETURNING *`)
      const row = result.rows[0]
      return row ? fromRaw(row) : undefined
    },
    /** cancelQueued cancels a run that has not started. */
    async cancelQueued (id: string, reason: string, tx: Database = db): Promise<ExecutionRow | undefined> {
      const [row] = await tx.update(executions).set({ status: 'cancelled', finishedAt: new Date(), error: reason })
        .where(and(eq(executions.id, id), eq(executions.status, 'queued'))).returning()
      return row
    },
    /** extendLeases pushes back the lease of every run the agent is running (its heartbeat). */
    async extendLeases (agentId: string, leaseSeconds: number): Promise<void> {
      await db.execute(sql`UPDATE executions SET lease_until = now() + make_interval(secs => ${leaseSeconds})
        WHERE agent_id = ${agentId} AND status = 'running'`)
    },
    async runningCount (agentId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(executions).where(and(eq(executions.agentId, agentId), eq(executions.status, 'running')))
      return row?.n ?? 0
    },
    /** expired locks running runs whose lease passed or that ran past their timeout (SKIP LOCKED: one node handles each). */
    async expired (now: Date, limit: number, tx: Database): Promise<ExecutionRow[]> {
      const result = await tx.execute<Row>(sql`
        SELECT * FROM executions
        WHERE status = 'running' AND (lease_until < ${now.toISOString()}::timestamptz
          OR started_at + make_interval(secs => timeout_seconds) < ${now.toISOString()}::timestamptz)
        ORDER BY lease_until LIMIT ${limit} FOR UPDATE SKIP LOCKED`)
      return result.rows.map(fromRaw)
    },
    /** cancelQueuedFor cancels the queued runs aimed at this agent alone (no other agent may ever take them). */
    async cancelQueuedFor (agentId: string, reason: string, tx: Database): Promise<ExecutionRow[]> {
      return tx.update(executions).set({ status: 'cancelled', finishedAt: new Date(), error: reason })
        .where(and(eq(executions.status, 'queued'), eq(executions.targetAgentId, agentId))).returning()
    },
    /** orphaned cancels queued runs whose task was deleted. */
    async cancelOrphaned (): Promise<number> {
      const rows = await db.update(executions).set({ status: 'cancelled', finishedAt: new Date(), error: 'the task was deleted' })
        .where(and(eq(executions.status, 'queued'), sql`${executions.taskId} IS NULL`)).returning({ id: executions.id })
      return rows.length
    },
    /** agentMetrics summarises an agent's finished runs. */
    async agentMetrics (agentId: string) {
      const result = await db.execute<{ runs: number, succeeded: number, running: number, p50: number | null, p95: number | null }>(sql`
        SELECT count(*) FILTER (WHERE finished_at IS NOT NULL AND started_at IS NOT NULL)::int AS runs,
               count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
               count(*) FILTER (WHERE status = 'running')::int AS running,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000)
                 FILTER (WHERE finished_at IS NOT NULL AND started_at IS NOT NULL) AS p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000)
                 FILTER (WHERE finished_at IS NOT NULL AND started_at IS NOT NULL) AS p95
        FROM executions WHERE agent_id = ${agentId}`)
      return result.rows[0]!
    }
  }
}

/** ExecutionsRepository is the executions module's data access. */
export type ExecutionsRepository = ReturnType<typeof createExecutionsRepository>
