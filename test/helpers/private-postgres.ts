import { readFileSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { startEmbeddedPostgres } from '../../src/platform/adapters/embedded-postgres.ts'
import { runMigrations } from '../../src/platform/migrate.ts'
import type { TestDatabase } from './db.ts'

/** PrivatePostgres is a PostgreSQL server of one test's own (never the shared one), which the test may freeze. */
export interface PrivatePostgres {
  database: TestDatabase
  /** freeze stops (SIGSTOP) the postmaster and every backend; thaw continues them (SIGCONT). */
  freeze: () => Promise<number[]>
  thaw: () => void
  stop: () => Promise<void>
}

// Synchronous on purpose: between stopping the postmaster and its backends nothing else may run.
function children (pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat = ''
    try { stat = readFileSync(`/proc/${entry}/stat`, 'utf8') } catch { continue }
    // Field 4 (after the parenthesised name, which may hold spaces) is the parent pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === pid) out.push(Number(entry))
  }
  return out
}

/** startPrivatePostgres runs the embedded PostgreSQL in a temporary folder on a free port and migrates it. */
export async function startPrivatePostgres (): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'backplane-private-pg-'))
  const server = await startEmbeddedPostgres(dir, pino({ level: 'warn' }))
  await runMigrations(server.url)
  let frozen: number[] = []
  return {
    database: { name: 'backplane', url: server.url, drop: async () => {} },
    async freeze () {
      const postmaster = Number(readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0])
      // The postmaster first, so it forks no new backend while the others are being stopped.
      process.kill(postmaster, 'SIGSTOP')
      frozen = [postmaster, ...children(postmaster)]
      for (const pid of frozen.slice(1)) process.kill(pid, 'SIGSTOP')
      return frozen
    },
    thaw () {
      for (const pid of frozen) { try { process.kill(pid, 'SIGCONT') } catch { /* already gone */ } }
      frozen = []
    },
    async stop () {
      for (const pid of frozen) { try { process.kill(pid, 'SIGCONT') } catch { /* already gone */ } }
      await server.stop().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  }
}
