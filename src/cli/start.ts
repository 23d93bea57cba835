import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { Command, InvalidArgumentError } from 'commander'
import { loadConfig, type Config } from '../config.ts'

function parseWorkers (value: string): number | 'auto' {
  if (value === 'auto') return 'auto'
  if (!/^[1-9][0-9]{0,2}$/.test(value)) throw new InvalidArgumentError('expected a whole number from 1 to 999, or auto')
  return Number(value)
}

/** workerCount is how many worker processes to run: the flag, else WEB_CONCURRENCY; `auto` is one per CPU. */
export function workerCount (config: Config, flag?: number | 'auto'): number {
  const wanted = flag ?? config.workers
  return wanted === 'auto' ? availableParallelism() : wanted
}

/** startCommand is `backplane start`: serve the API (the default command). */
export function startCommand (): Command {
  return new Command('start')
    .description('start the server (embedded PostgreSQL under DATA_DIR unless DATABASE_URL is set)')
    .option('--workers <n>', 'worker processes sharing the port (a number, or auto = one per CPU); default WEB_CONCURRENCY, else 1', parseWorkers)
    .option('--watch-frontends <dir>', 'development only: keep the frontend registry in step with a workspace (apps added, removed or moved)')
    .action(async (options: { watchFrontends?: string, workers?: number | 'auto' }) => {
      const config = loadConfig()
      if (options.watchFrontends !== undefined && config.env !== 'development') {
        throw new Error('--watch-frontends is for development (BACKPLANE_ENV=development); elsewhere run `backplane frontends sync` or use /api/v1/admin/frontends')
      }
      // Loaded on use, so `backplane --help` and the other commands start fast.
      if (cluster.isWorker) {
        const { runWorker } = await import('../cluster/worker.ts')
        await runWorker(config)
        return
      }
      const workers = workerCount(config, options.workers)
      if (workers > 1) {
        if (options.watchFrontends !== undefined) throw new Error('--watch-frontends runs with one process: leave out --workers (and WEB_CONCURRENCY)')
        const { runPrimary } = await import('../cluster/primary.ts')
        await runPrimary(config, workers)
        return
      }
      const { serve } = await import('../server.ts')
      const server = await serve(config)
      if (options.watchFrontends !== undefined) {
        const { watchFrontendsBeside } = await import('../modules/frontends/dev-watch.ts')
        await watchFrontendsBeside(server.app, options.watchFrontends)
      }
    })
}
