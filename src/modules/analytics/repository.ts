import { count, gte, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { agents } from '../agents/index.ts'
import { refreshTokens, sessions } from '../auth/index.ts'
import { executions } from '../executions/index.ts'
import { users } from '../users/index.ts'

/**
 * createAnalyticsRepository holds the aggregate queries: each one is a GROUP BY over an indexed
 * time range (executions_created_idx, users_created_at_idx, refresh_tokens_created_idx), so its cost is bounded by the range.
 */
export function createAnalyticsRepository (db: Database) {
  return {
    /** executionsByStatus counts the runs created since `since`, per status. */
    async executionsByStatus (since: Date): Promise<Array<{ status: string, count: number }>> {
      return db.select({ status: executions.status, count: count() }).from(executions)
        .where(gte(executions.createdAt, since)).groupBy(executions.status)
    },

    /** executionBuckets counts runs per (UTC hour or day of creation, status) since `since`, oldest first. */
    async executionBuckets (since: Date, interval: 'hour' | 'day'): Promise<Array<{ start: Date, status: string, count: number }>> {
      const start = sql<Date>`date_trunc(${interval}, ${executions.createdAt}, 'UTC')`.mapWith((v: string | Date) => new Date(v))
      return db.select({ start, status: executions.status, count: count() }).from(executions)
        .where(gte(executions.createdAt, since)).groupBy(sql`1`, executions.status).orderBy(sql`1`, executions.status)
    },

    /** agentsOnline counts agents heart-beating now (idle or running a job). */
    async agentsOnline (): Promise<number> {
      const [row] = await db.select({ n: count() }).from(agents).where(sql`${agents.status} <> 'offline'`)
      return row?.n ?? 0
    },

    /**
     * usersPerDay gives, for each UTC day from `since` to today, the accounts created and the
     * distinct users who signed in or refreshed a session that day (refresh_tokens_created_idx).
     */
    async usersPerDay (since: Date): Promise<Array<{ day: string, signups: number, activeUsers: number }>> {
      const result = await db.execute<{ day: string, signups: number, active_users: number }>(sql`
        WITH days AS (
          SELECT generate_series(date_trunc('day', ${since}::timestamptz, 'UTC'), date_trunc('day', now(), 'UTC'), interval '1 day') AS day
        ), signups AS (
          SELECT date_trunc('day', ${users.createdAt}, 'UTC') AS day, count(*)::int AS n FROM ${users}
          WHERE ${users.createdAt} >= ${since} GROUP BY 1
        ), activity AS (
          -- One refresh_tokens row per sign-in and per rotation, kept with the session: who got tokens that day.
          SELECT ${sessions.userId} AS user_id, date_trunc('day', ${refreshTokens.createdAt}, 'UTC') AS day
          FROM ${refreshTokens} JOIN ${sessions} ON ${sessions.id} = ${refreshTokens.sessionId}
          WHERE ${refreshTokens.createdAt} >= ${since}
        ), active AS (
          SELECT day, count(DISTINCT user_id)::int AS n FROM activity GROUP BY 1
        )
        SELECT to_char(days.day AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, coalesce(signups.n, 0) AS signups, coalesce(active.n, 0) AS active_users
        FROM days LEFT JOIN signups USING (day) LEFT JOIN active USING (day) ORDER BY days.day`)
      return result.rows.map((r) => ({ day: r.day, signups: r.signups, activeUsers: r.active_users }))
    }
  }
}

/** AnalyticsRepository is the analytics queries. */
export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>
