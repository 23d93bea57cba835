import fp from 'fastify-plugin'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import type pg from 'pg'
import { createPostgresPool } from './adapters/postgres.ts'
import { createLivenessProbe, guardPool, isDatabaseUnavailable } from './adapters/postgres-guard.ts'

/** Database is the Drizzle handle modules query through (repositories accept it or a transaction). */
export type Database = NodePgDatabase

declare module 'fastify' {
  interface FastifyInstance {
    /** db is the app's Drizzle database over a bounded `pg` pool. */
    db: Database
    /** dbPool is the underlying pool, for health checks and raw SQL in platform code. */
    dbPool: pg.Pool
  }
}

/** DbOptions gives the plugin the connection string chosen at start-up. */
export interface DbOptions { url: string }

/**
 * db opens the pool (lazily: no connection until the first query) behind the `database` circuit
 * breaker, and closes it with the app.
 */
export default fp<DbOptions>(async function db (app, { url }) {
  const pool = createPostgresPool(url, {
    max: app.config.db.poolMax,
    statementTimeout: app.config.db.statementTimeout,
    connectTimeout: app.config.db.connectTimeout
  }, app.log)
  // Bounded waits (SECURITY.md RL-02, R-PG-HANG): a frozen or vanished PostgreSQL costs a caller at
  // most ~3 s (2 s of waiting, then a 1 s liveness probe), and nothing once the breaker is open.
  const breaker = app.breakers.create('database', { counts: isDatabaseUnavailable, threshold: 5, halfOpenAfterMs: 1000 })
  guardPool(pool, breaker, { waitMs: 2000, probeMs: 1000 }, createLivenessProbe(url, 1000))
  app.decorate('dbPool', pool)
  app.decorate('db', drizzle(pool))
  app.addHook('onClose', async () => { await pool.end() })
}, { name: 'db', dependencies: ['breakers'] })
