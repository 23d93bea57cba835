import { Command } from 'commander'
import { loadConfig } from '../config.ts'

/** startCommand is `backplane start`: serve the API (the default command). */
export function startCommand (): Command {
  return new Command('start')
    .description('start the server (embedded PostgreSQL under DATA_DIR unless DATABASE_URL is set)')
    .option('--watch-frontends <dir>', 'development only: keep the frontend registry in step with a workspace (apps added, removed or moved)')
    .action(async (options: { watchFrontends?: string }) => {
      const config = loadConfig()
      if (options.watchFrontends !== undefined && config.env !== 'development') {
        throw new Error('--watch-frontends is for development (BACKPLANE_ENV=development); elsewhere run `backplane frontends sync` or use /api/v1/admin/frontends')
      }
      // Loaded on use, so `backplane --help` and the other commands start fast.
      const { serve } = await import('../server.ts')
      const server = await serve(config)
      if (options.watchFrontends !== undefined) {
        const { watchFrontendsBeside } = await import('../modules/frontends/dev-watch.ts')
        await watchFrontendsBeside(server.app, options.watchFrontends)
      }
    })
}
