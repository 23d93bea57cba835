import type { FastifyInstance } from 'fastify'
import { formatSync, syncChanged } from './report.ts'
import { watchFrontends, type FrontendsWatcher } from './watch.ts'

/**
 * watchFrontendsBeside is `backplane start --watch-frontends DIR` (development): the running server
 * syncs the workspace now and whenever frontends are added, removed or moved, so a new app's origin
 * is allowed without a restart. Changes are logged; the sync table (with the keys of new frontends,
 * shown once) goes to the terminal, never to the log. The watch does not hold the process open.
 */
export async function watchFrontendsBeside (app: FastifyInstance, dir: string): Promise<FrontendsWatcher> {
  const watcher = watchFrontends({
    dir,
    persistent: false,
    sync: (detection) => app.frontends.sync(detection),
    onSynced: (entries, detection) => {
      if (!syncChanged(entries)) return
      app.log.info({ frontends: entries.filter((e) => e.action !== 'unchanged').map((e) => ({ name: e.name, action: e.action, origins: e.origins })) }, 'frontends synced')
      process.stderr.write(formatSync(entries, detection.root))
    },
    onError: (err) => { app.log.warn({ err: { message: (err as Error).message } }, 'frontends: watch sync failed') }
  })
  await watcher.ready
  app.log.info({ dir }, 'watching for frontends')
  return watcher
}
