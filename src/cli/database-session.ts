import type { Config } from '../config.ts'
import { openDatabaseServer, type DatabaseServer } from '../platform/database.ts'
import { createLogger } from '../platform/logging.ts'

/**
 * withDatabaseServer runs a CLI task against the configured database server: the embedded one of
 * a Backplane already running on the same DATA_DIR (left running), else one started and stopped here.
 */
export async function withDatabaseServer<T> (config: Config, task: (server: DatabaseServer) => Promise<T>): Promise<T> {
  // A CLI task prints its own result; only warnings and errors from the database start are worth showing.
  const log = createLogger(config, undefined, config.log.level === 'info' ? 'warn' : config.log.level)
  const server = await openDatabaseServer(config, log, { attach: true })
  try {
    return await task(server)
  } finally {
    await server.close()
  }
}
