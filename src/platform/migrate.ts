import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import pg from 'pg'
import type { BackplaneModule } from './modules.ts'

/** migrationsFolder is the committed drizzle-kit output, beside src/ and dist/. */
export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

// Any constant works; it only has to be the same on every node.
const MIGRATION_LOCK = 7_242_118_001

/**
 * runMigrations applies pending migrations in one transaction under an advisory lock, so several
 * nodes starting together migrate once, and a failing migration leaves the database as it was.
 * Then, under the same lock, each module's own `migrations` folder in module order: one
 * transaction per folder, each tracked in its own table (`drizzle.__drizzle_migrations_<module>`),
 * since drizzle applies only migrations newer than the last one its table holds, and a team's
 * migration may well be older than Backplane's latest.
 */
export async function runMigrations (url: string, folder = migrationsFolder, modules: readonly Pick<BackplaneModule, 'name' | 'migrations'>[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'backplane-migrate' })
  await client.connect().catch((err: unknown) => {
    // The first connection of a start: say which server it was (never the password), as pg does not.
    throw new Error(`cannot connect to PostgreSQL at ${describeServer(url)}: ${(err as Error).message}`, { cause: err })
  })
  let applying = ''
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    const db = drizzle(client)
    await migrate(db, { migrationsFolder: folder })
    for (const mod of modules) {
      if (mod.migrations === undefined) continue
      applying = `module ${mod.name}'s `
      await migrate(db, { migrationsFolder: mod.migrations, migrationsTable: `__drizzle_migrations_${mod.name.replaceAll('-', '_')}` })
    }
  } catch (err) {
    // Drizzle's message names only the statement; the database's reason is in the cause.
    const cause = (err as { cause?: { message?: string } }).cause?.message
    const statement = (err as Error).message.replace(/^Failed query:\s*/, '').split('\nparams')[0]?.trim()
    throw new Error(`${applying || 'a '}migration failed and was rolled back, ${applying ? 'its migrations are' : 'the database is'} unchanged: ${cause ?? (err as Error).message}${cause ? ` (statement: ${statement})` : ''}`, { cause: err })
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
