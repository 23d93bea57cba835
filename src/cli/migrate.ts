import { Command } from 'commander'
import { loadConfig } from '../config.ts'

/** migrateCommand is `backplane migrate`: apply pending migrations and exit. */
export function migrateCommand (): Command {
  return new Command('migrate')
    .description('apply pending database migrations (also done at every start)')
    .action(async () => {
      const config = loadConfig()
      const { runMigrations } = await import('../platform/migrate.ts')
      const { withDatabaseServer } = await import('./database-session.ts')
      await withDatabaseServer(config, async (server) => { await runMigrations(server.url) })
      process.stdout.write('migrations applied\n')
    })
}
