import { Command } from 'commander'
import { loadConfig } from '../config.ts'
import { DEMO_REFUSED } from '../modules/demo/index.ts'

/** seedCommand is `backplane seed`: run every module's idempotent seed. */
export function seedCommand (): Command {
  return new Command('seed')
    .description("run each module's idempotent seed (twice changes nothing)")
    .option('--demo', 'also add demo data, once')
    .action(async (options: { demo?: boolean }) => {
      const config = loadConfig()
      // Before any database starts: a known account with printed credentials has no place in production.
      if (options.demo === true && config.env === 'production') throw new Error(DEMO_REFUSED)
      const { buildApp } = await import('../app.ts')
      const { runMigrations } = await import('../platform/migrate.ts')
      const { runDemo, runSeeds } = await import('../platform/modules.ts')
      const { withDatabaseServer } = await import('./database-session.ts')
      const ran = await withDatabaseServer(config, async (server) => {
        await runMigrations(server.url)
        const app = await buildApp(config, { databaseUrl: server.url })
        try {
          await app.ready()
          const seeded = await runSeeds(app.modules, { db: app.db, log: app.log, demo: options.demo === true })
          if (options.demo === true) {
            const lines: string[] = []
            await runDemo(app.modules, { app, report: (line) => { lines.push(line) } })
            return { seeded, lines }
          }
          return { seeded, lines: [] }
        } finally {
          await app.close()
        }
      })
      process.stdout.write(`seeded: ${ran.seeded.join(', ') || '(no module has a seed)'}\n`)
      for (const line of ran.lines) process.stdout.write(`${line}\n`)
    })
}
