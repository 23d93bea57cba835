import { Command } from 'commander'
import { loadConfig } from '../config.ts'

/** openapiCommand is `backplane openapi`: print the OpenAPI document without starting a server or a database. */
export function openapiCommand (): Command {
  return new Command('openapi')
    .description('print the OpenAPI 3.1 document (e.g. backplane openapi > openapi.json)')
    .action(async () => {
      const config = loadConfig()
      const { buildApp } = await import('../app.ts')
      // The pool connects lazily and no query runs, so no database is needed to describe the API.
      const app = await buildApp(config, { databaseUrl: config.db.url ?? 'postgres://unused@127.0.0.1:1/unused' })
      try {
        await app.ready()
        process.stdout.write(JSON.stringify(app.swagger(), null, 2) + '\n')
      } finally {
        await app.close()
      }
    })
}
