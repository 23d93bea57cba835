import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import type { TestProject } from 'vitest/node'
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/platform/adapters/embedded-postgres.ts'
import { withDatabase } from '../src/platform/adapters/postgres.ts'
import { runMigrations } from '../src/platform/migrate.ts'
import { installQueueSchema } from '../src/platform/adapters/pg-boss-queue.ts'
import { adminQuery, canConnectPostgres, requireServices } from './helpers/services.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** adminUrl connects to the maintenance database of the server the tests use. */
    adminUrl: string
    /** templateDatabase is migrated once; each test file copies it. */
    templateDatabase: string
    /** runId prefixes every database this run creates. */
    runId: string
    /** embedded is true when the run uses its own embedded PostgreSQL. */
    embedded: boolean
  }
}

/**
 * One PostgreSQL per run (the embedded server in a temp dir, or the machine's server on the
 * services lane), with a template database migrated once; each test file copies it.
 */
export default async function setup (project: TestProject) {
  const runId = `bp${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
  let embedded: EmbeddedPostgres | undefined
  let dataDir: string | undefined
  let adminUrl: string
  const external = process.env.DATABASE_URL
  if (external) {
    if (!(await canConnectPostgres(external))) {
      throw new Error(`DATABASE_URL is set but PostgreSQL does not answer at it${requireServices ? ' (BACKPLANE_REQUIRE_SERVICES=1: this is a failure, not a skip)' : ''}`)
    }
    adminUrl = external
  } else {
    dataDir = await mkdtemp(join(tmpdir(), 'backplane-test-'))
    embedded = await startEmbeddedPostgres(dataDir, pino({ level: 'warn' }))
    adminUrl = embedded.adminUrl
  }
  const templateDatabase = `${runId}_template`
  await adminQuery(adminUrl, `CREATE DATABASE ${templateDatabase}`)
  await runMigrations(withDatabase(adminUrl, templateDatabase))
  // pg-boss's schema too, so an app's first job costs milliseconds rather than a schema install.
  await installQueueSchema(withDatabase(adminUrl, templateDatabase))
  project.provide('adminUrl', adminUrl)
  project.provide('templateDatabase', templateDatabase)
  project.provide('runId', runId)
  project.provide('embedded', embedded !== undefined)

  return async function teardown () {
    const left = await adminQuery(adminUrl, 'SELECT datname FROM pg_database WHERE datname LIKE $1', [`${runId}%`])
    for (const row of left.rows as Array<{ datname: string }>) {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`).catch(() => {})
    }
    await embedded?.stop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  }
}
