import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, start } from 'backplane'
import notes from './index.ts'

// The team's module, run the way the team runs it: Backplane's `start()` from the package, with the
// module's own migrations. DATABASE_URL (the services lane) gets a fresh database of its own;
// without it, Backplane runs its embedded PostgreSQL in a temporary folder.
let server: Awaited<ReturnType<typeof start>>
let databaseUrl: string
let cleanup: () => Promise<void>

async function databaseFor (adminUrl: string | undefined): Promise<{ env: Record<string, string>, cleanup: () => Promise<void> }> {
  if (!adminUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'team-module-'))
    return { env: { DATA_DIR: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) }
  }
  const name = `team_module_${randomBytes(4).toString('hex')}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    try { await client.query(sql) } finally { await client.end() }
  }
  await admin(`CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return { env: { DATABASE_URL: url.toString() }, cleanup: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

async function query<T extends pg.QueryResultRow> (sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try { return (await client.query<T>(sql, values)).rows } finally { await client.end() }
}

beforeAll(async () => {
  const database = await databaseFor(process.env.DATABASE_URL)
  cleanup = database.cleanup
  const config = loadConfig({ BACKPLANE_ENV: 'test', BACKPLANE_SECRET: 'example-secret-0123456789-abcdefghijkl', PORT: '0', LOG_LEVEL: 'warn', ...database.env }, { filesOff: true })
  server = await start(config, { modules: [notes] })
  databaseUrl = server.database.url
})
afterAll(async () => {
  await server?.shutdown()
  await cleanup?.()
})

async function call (method: string, path: string, options: { token?: string, apiKey?: string, body?: unknown } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' })
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body)
  })
  return { status: res.status, body: await res.json().catch(() => null) as Record<string, unknown> | null }
}

async function signUp (): Promise<string> {
  const email = `note-${randomBytes(4).toString('hex')}@example.com`
  const password = `Pw-${randomBytes(12).toString('base64url')}`
  expect((await call('POST', '/api/v1/auth/register', { body: { email, password } })).status).toBe(202)
  const login = await call('POST', '/api/v1/auth/login', { body: { email, password } })
  expect(login.status).toBe(200)
  return String(login.body!.accessToken)
}

describe('a team module outside Backplane, imported as a package', () => {
  it('has its migration applied by start(), tracked apart from Backplane\'s', async () => {
    const [table] = await query<{ name: string | null }>('SELECT to_regclass(\'public.team_notes\')::text AS name')
    expect(table!.name).toBe('team_notes')
    const applied = await query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations_notes')
    expect(applied[0]!.n).toBe(1)
  })

  it('serves its route with its permission, and records its event with the change', async () => {
    const token = await signUp()
    const created = await call('POST', '/api/v1/notes', { token, body: { body: 'buy milk' } })
    expect(created.status).toBe(201)
    const id = String(created.body!.id)
    expect((await call('GET', `/api/v1/notes/${id}`, { token })).body).toMatchObject({ id, body: 'buy milk' })
    const events = await query<{ type: string }>('SELECT type FROM outbox WHERE aggregate = $1', [`note:${id}`])
    expect(events.map((e) => e.type)).toEqual(['note.created'])
  })

  it('refuses anonymous callers (401), keys without the permission (403), bad bodies (400) and other authors (404)', async () => {
    const token = await signUp()
    const id = String((await call('POST', '/api/v1/notes', { token, body: { body: 'mine' } })).body!.id)
    expect((await call('GET', `/api/v1/notes/${id}`)).status).toBe(401)
    const key = await call('POST', '/api/v1/api-keys', { token, body: { name: 'read only', scopes: ['note:read'] } })
    expect(key.status).toBe(201)
    const apiKey = String(key.body!.key)
    expect((await call('GET', `/api/v1/notes/${id}`, { apiKey })).status).toBe(200)
    expect((await call('POST', '/api/v1/notes', { apiKey, body: { body: 'no' } })).status).toBe(403)
    expect((await call('POST', '/api/v1/notes', { token, body: { body: '', role: 'x' } })).status).toBe(400)
    expect((await call('GET', `/api/v1/notes/${id}`, { token: await signUp() })).status).toBe(404)
  })
})
