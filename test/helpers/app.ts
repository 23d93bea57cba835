import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import type { BackplaneModule } from '../../src/platform/modules.ts'
import { runSeeds } from '../../src/platform/modules.ts'
import { runMigrations } from '../../src/platform/migrate.ts'
import type { Mailer, MailMessage } from '../../src/platform/mailer.ts'
import { makeUser, type TestUser } from './auth.ts'
import { createTestDatabase, type TestDatabase } from './db.ts'

/** testConfig builds a Config from explicit settings only (no process.env, no files). */
export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig({
    BACKPLANE_ENV: 'test',
    LOG_LEVEL: 'info',
    BACKPLANE_SECRET: 'test-secret-0123456789-abcdefghijklmnop',
    // Tests exercise the flows, not the throttles; the rate-limit tests set their own numbers.
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '100000',
    RATE_LIMIT_USER_PER_MINUTE: '100000',
    RATE_LIMIT_API_KEY_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    // Every route's schemas compiled as the app starts: a schema the compilers refuse fails every
    // test instead of one route's first request (validation.test.ts covers the lazy default).
    SCHEMA_COMPILE: 'eager',
    ...env
  }, { filesOff: true })
}

/** LogCapture collects the JSON log lines an app writes, for redaction and request-id tests. */
export interface LogCapture {
  lines: () => Array<Record<string, unknown>>
  text: () => string
}

function captureLogs (): { stream: Writable, capture: LogCapture } {
  const chunks: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) { chunks.push(chunk.toString()); cb() }
  })
  const text = () => chunks.join('')
  return {
    stream,
    capture: { text, lines: () => text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) }
  }
}

/** TestApp is a built, seeded app on a database of its own, with its captured logs. */
export interface TestApp {
  app: FastifyInstance
  db: TestDatabase
  logs: LogCapture
  /** mail is every message the app sent, newest last. */
  mail: MailMessage[]
  close: () => Promise<void>
}

/** createTestApp builds the real app (every platform plugin and module) on a fresh copy of the migrated template. */
export async function createTestApp (options: { env?: Record<string, string>, modules?: BackplaneModule[], mailer?: Mailer | 'configured', database?: TestDatabase } = {}): Promise<TestApp> {
  // A shared database makes a second node of the same deployment; only its creator drops it.
  const shared = options.database
  const db = shared ?? await createTestDatabase()
  // The template holds Backplane's tables; a module's own migrations are applied as start() does.
  if (options.modules?.some((m) => m.migrations !== undefined)) await runMigrations(db.url, undefined, options.modules)
  const { stream, capture } = captureLogs()
  const mail: MailMessage[] = []
  // 'configured' keeps the app's own adapter (SMTP_URL through the job queue) instead of capturing mail.
  const mailer: Mailer | undefined = options.mailer === 'configured' ? undefined : options.mailer ?? { send: async (m) => { mail.push(m) }, close: async () => {} }
  const app = await buildApp(testConfig(options.env), { databaseUrl: db.url, logStream: stream, modules: options.modules, mailer })
  await app.ready()
  await runSeeds(app.modules, { db: app.db, log: app.log, demo: false })
  return {
    app,
    db,
    logs: capture,
    mail,
    close: async () => {
      await app.close()
      if (!shared) await db.drop()
    }
  }
}

/** createAdminApp starts a test app with one admin in it: the fixture of the tests that act as an admin. */
export async function createAdminApp (options: Parameters<typeof createTestApp>[0] = {}): Promise<{ t: TestApp, admin: TestUser }> {
  const t = await createTestApp(options)
  return { t, admin: await makeUser(t.app, { roles: ['admin'] }) }
}
