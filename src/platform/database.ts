import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { startEmbeddedPostgres } from './adapters/embedded-postgres.ts'

/** DatabaseServer is where the app's PostgreSQL lives: an external URL, or the embedded server Backplane runs. */
export interface DatabaseServer {
  url: string
  embedded: boolean
  close: () => Promise<void>
}

/** openDatabaseServer picks the adapter once from the config: `DATABASE_URL`, or the embedded PostgreSQL under `DATA_DIR`. */
export async function openDatabaseServer (config: Config, log: Logger): Promise<DatabaseServer> {
  if (config.db.url) return { url: config.db.url, embedded: false, close: async () => {} }
  const server = await startEmbeddedPostgres(config.dataDir, log, { avoidPort: config.http.port })
  return { url: server.url, embedded: true, close: server.stop }
}
