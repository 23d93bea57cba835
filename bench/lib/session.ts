import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chooseDatabase } from './database.ts'
import type { ServerChild } from './servers.ts'

/** BenchSession is what one benchmark run holds: its database, a log folder and the servers it started. */
export interface BenchSession {
  database: Awaited<ReturnType<typeof chooseDatabase>>
  logDir: string
  servers: ServerChild[]
  /** stopAll stops every server started so far. */
  stopAll: () => Promise<void>
  /** cleanup stops the servers, drops a throwaway database and removes the log folder (once). */
  cleanup: () => Promise<void>
}

/** openBenchSession picks the database, makes the log folder and makes Ctrl-C clean up too. */
export async function openBenchSession (): Promise<BenchSession> {
  const database = await chooseDatabase()
  const logDir = await mkdtemp(join(tmpdir(), 'backplane-bench-logs-'))
  const servers: ServerChild[] = []
  const stopAll = async () => { await Promise.all(servers.splice(0).map((s) => s.stop())) }
  let cleaning: Promise<void> | undefined
  const cleanup = () => (cleaning ??= (async () => {
    await stopAll()
    await database.cleanup().catch((err: unknown) => { process.stderr.write(`could not clean up the database: ${(err as Error).message}\n`) })
    await rm(logDir, { recursive: true, force: true })
  })())
  // Ctrl-C reaches the servers too (same process group); they shut down, then the database is dropped.
  process.once('SIGINT', () => { cleanup().finally(() => { process.exit(130) }) })
  return { database, logDir, servers, stopAll, cleanup }
}
