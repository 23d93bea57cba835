import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'

/** PoolSettings bounds every connection Backplane opens to PostgreSQL. */
export interface PoolSettings {
  max: number
  statementTimeout: number
  connectTimeout: number
}

/**
 * createPostgresPool opens a lazily connecting pool with bounded waits; an idle client's error
 * (the server restarted) is logged instead of crashing the process.
 */
export function createPostgresPool (url: string, settings: PoolSettings, log: FastifyBaseLogger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: settings.max,
    connectionTimeoutMillis: settings.connectTimeout,
    idleTimeoutMillis: 30_000,
    statement_timeout: settings.statementTimeout,
    // A hung server (SIGSTOP, network partition) must not hang requests: bound the client side too.
    query_timeout: settings.statementTimeout + 1000,
    application_name: 'backplane',
    keepAlive: true
  })
  pool.on('error', (err) => {
    log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'idle database connection lost; the pool will reconnect')
  })
  return pool
}

/** databaseName returns the database a connection string points at. */
export function databaseName (url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres'
}

/** withDatabase returns the same connection string pointing at another database. */
export function withDatabase (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${encodeURIComponent(database)}`
  return u.toString()
}
