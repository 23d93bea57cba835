import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import pg from 'pg'

/** migrationsFolder is the committed drizzle-kit output, beside src/ and dist/. */
export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

// Any constant works; it only has to be the same on every node.
const MIGRATION_LOCK = 7_242_118_001

/**
 * runMigrations applies pending migrations in one transaction under an advisory lock, so several
 * nodes starting together migrate once, and a failing migration leaves the database as it was.
 */
export async function runMigrations (url: string, folder = migrationsFolder): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'backplane-migrate' })
  await client.connect().catch((err: unknown) => {
    // The first connection of a start: say which server it was (never the password), as pg does not.
    throw new Error(`cannot connect to PostgreSQL at ${describeServer(url)}: ${(err as Error).message}`, { cause: err })
  })
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    await migrate(drizzle(client), { migrationsFolder: folder })
  } catch (err) {
    // Drizzle's message names only the statement; the database's reason is in the cause.
    const cause = (err as { cause?: { message?: string } }).cause?.message
    const statement = (err as Error).message.replace(/^Failed query:\s*/, '').split('\nparams')[0]?.trim()
    throw new Error(`a migration failed and was rolled back, the database is unchanged: ${cause ?? (err as Error).message}${cause ? ` (statement: ${statement})` : ''}`, { cause: err })
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
    await client.end()
  }
}

function describeServer (url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '5432'}${u.pathname}${u.username ? ` as ${decodeURIComponent(u.username)}` : ''}`
  } catch {
    return 'DATABASE_URL'
  }
}
