import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'

/**
 * withApp runs a CLI task against a fully built, migrated and seeded app (no HTTP listener),
 * starting and stopping the embedded PostgreSQL when needed.
 */
export async function withApp<T> (config: Config, task: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const { buildApp } = await import('../app.ts')
  const { runMigrations } = await import('../platform/migrate.ts')
  const { runSeeds } = await import('../platform/modules.ts')
  const { withDatabaseServer } = await import('./database-session.ts')
  const { createLogger } = await import('../platform/logging.ts')
  return withDatabaseServer(config, async (server) => {
    await runMigrations(server.url)
    const quiet = createLogger(config, undefined, config.log.level === 'info' ? 'warn' : config.log.level)
    const app = await buildApp(config, { databaseUrl: server.url, logger: quiet })
    try {
      await app.ready()
      await runSeeds(app.modules, { db: app.db, log: app.log, demo: false })
      return await task(app)
    } finally {
      await app.close()
    }
  })
}
