import type { Config } from '../config.ts'

/**
 * describeApi builds the app in-process and returns its OpenAPI document (`backplane openapi`,
 * `backplane sdk` without `--url`): the pool connects lazily and no query runs, so no database or
 * server is needed.
 */
export async function describeApi (config: Config): Promise<unknown> {
  const { buildApp } = await import('../app.ts')
  const app = await buildApp(config, { databaseUrl: config.db.url ?? 'postgres://unused@127.0.0.1:1/unused' })
  try {
    await app.ready()
    return app.swagger()
  } finally {
    await app.close()
  }
}
