import fp from 'fastify-plugin'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import type pg from 'pg'
import { createPostgresPool } from './adapters/postgres.ts'

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

/** db opens the pool (lazily: no connection until the first query) and closes it with the app. */
export default fp<DbOptions>(async function db (app, { url }) {
  const pool = createPostgresPool(url, {
    max: app.config.db.poolMax,
    statementTimeout: app.config.db.statementTimeout,
    connectTimeout: app.config.db.connectTimeout
  }, app.log)
  app.decorate('dbPool', pool)
  app.decorate('db', drizzle(pool))
  app.addHook('onClose', async () => { await pool.end() })
}, { name: 'db' })
