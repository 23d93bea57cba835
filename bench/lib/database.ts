import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { withDatabase } from '../../src/platform/adapters/postgres.ts'

/** BenchDatabase is where the Backplane under test keeps its data, and how to throw it away afterwards. */
export interface BenchDatabase {
  mode: 'DATABASE_URL' | 'throwaway database' | 'embedded'
  /** settings are the Backplane settings that point it there. */
  settings: Record<string, string>
  describe: string
  cleanup: () => Promise<void>
}

/** localServerUrl is the machine's PostgreSQL tried when DATABASE_URL is unset (BENCH_PG_ADMIN_URL overrides it). */
export const localServerUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function tryThrowaway (adminUrl: string): Promise<BenchDatabase | undefined> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
  } catch {
    await client.end().catch(() => {})
    return undefined
  }
  const name = `backplane_bench_${Date.now()}_${process.pid}`
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const masked = new URL(adminUrl)
  if (masked.password) masked.password = '****'
  return {
    mode: 'throwaway database',
    settings: { DATABASE_URL: withDatabase(adminUrl, name) },
    describe: `throwaway database ${name} on ${masked.host}`,
    cleanup: async () => {
      const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 })
      await admin.connect()
      try { await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) } finally { await admin.end() }
    }
  }
}

/**
 * chooseDatabase picks, in order: DATABASE_URL from the environment (used as is, left in place),
 * a throwaway database on the local PostgreSQL server if it answers (dropped afterwards), or the
 * embedded PostgreSQL under a temporary DATA_DIR (removed afterwards).
 */
export async function chooseDatabase (): Promise<BenchDatabase> {
  const given = process.env.DATABASE_URL
  if (given) {
    return { mode: 'DATABASE_URL', settings: { DATABASE_URL: given }, describe: 'DATABASE_URL from the environment', cleanup: async () => {} }
  }
  const throwaway = await tryThrowaway(localServerUrl)
  if (throwaway) return throwaway
  const dataDir = await mkdtemp(join(tmpdir(), 'backplane-bench-data-'))
  return {
    mode: 'embedded',
    settings: { DATA_DIR: dataDir, DATABASE_EMBEDDED_OK: 'true' },
    describe: `embedded PostgreSQL under ${dataDir}`,
    cleanup: async () => { await rm(dataDir, { recursive: true, force: true }) }
  }
}
