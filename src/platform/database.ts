import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { attachToRunningEmbedded, startEmbeddedPostgres } from './adapters/embedded-postgres.ts'

/** DatabaseServer is where the app's PostgreSQL lives: an external URL, or the embedded server Backplane runs. */
export interface DatabaseServer {
  url: string
  embedded: boolean
  close: () => Promise<void>
}

/**
 * openDatabaseServer picks the adapter once from the config: `DATABASE_URL`, or the embedded
 * PostgreSQL under `DATA_DIR`. With `attach` (CLI commands), a data dir owned by a running
 * Backplane is used through that server's PostgreSQL, left running, instead of being refused.
 */
export async function openDatabaseServer (config: Config, log: Logger, options: { attach?: boolean } = {}): Promise<DatabaseServer> {
  if (config.db.url) return { url: config.db.url, embedded: false, close: async () => {} }
  if (options.attach) {
    const running = await attachToRunningEmbedded(config.dataDir)
    if (running) {
      log.info({ owner: running.owner }, 'using the embedded PostgreSQL of the running Backplane process')
      return { url: running.url, embedded: true, close: async () => {} }
    }
  }
  const server = await startEmbeddedPostgres(config.dataDir, log, { avoidPort: config.http.port })
  return { url: server.url, embedded: true, close: server.stop }
}
