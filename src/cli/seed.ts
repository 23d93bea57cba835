import { Command } from 'commander'
import { loadConfig } from '../config.ts'

/** seedCommand is `backplane seed`: run every module's idempotent seed. */
export function seedCommand (): Command {
  return new Command('seed')
    .description("run each module's idempotent seed (twice changes nothing)")
    .option('--demo', 'also add demo data, once')
    .action(async (options: { demo?: boolean }) => {
      const config = loadConfig()
      const { buildApp } = await import('../app.ts')
      const { runMigrations } = await import('../platform/migrate.ts')
      const { runSeeds } = await import('../platform/modules.ts')
      const { withDatabaseServer } = await import('./database-session.ts')
      const ran = await withDatabaseServer(config, async (server) => {
        await runMigrations(server.url)
        const app = await buildApp(config, { databaseUrl: server.url })
        try {
          await app.ready()
          return await runSeeds(app.modules, { db: app.db, log: app.log, demo: options.demo === true })
        } finally {
          await app.close()
        }
      })
      process.stdout.write(`seeded: ${ran.join(', ') || '(no module has a seed)'}\n`)
    })
}
