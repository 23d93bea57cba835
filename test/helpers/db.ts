import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { withDatabase } from '../../src/platform/adapters/postgres.ts'
import { adminQuery } from './services.ts'

/** TestDatabase is a migrated database of this test file's own. */
export interface TestDatabase {
  name: string
  url: string
  drop: () => Promise<void>
}

/** createTestDatabase copies the migrated template into a new database (tens of milliseconds). */
export async function createTestDatabase (): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl')
  const name = `${inject('runId')}_${randomBytes(4).toString('hex')}`
  await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`)
  return {
    name,
    url: withDatabase(adminUrl, name),
    drop: async () => { await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
  }
}
