import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type pg from 'pg'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts'
import { createPostgresPool } from './adapters/postgres.ts'
import { defineModule } from './modules.ts'

// Every way a wait on the database can time out, produced for real, must leave as 503 with
// Retry-After: a frozen or overloaded database is a dependency failure, never a 500 (RL-02).
let silent: Server
let silentUrl = ''
let database: TestDatabase
const held: Socket[] = []
const pools: pg.Pool[] = []

const probe = defineModule({
  name: 'probe',
  plugin: async (app) => {
    const pool = (settings: { max?: number, statementTimeout?: number, connectTimeout?: number }, at = database.url) => {
      const p = createPostgresPool(at, { max: settings.max ?? 2, statementTimeout: settings.statementTimeout ?? 15000, connectTimeout: settings.connectTimeout ?? 5000 }, app.log)
      pools.push(p)
      return p
    }
    const statement = pool({ statementTimeout: 100 })
    const clientSide = pool({ statementTimeout: 100 })
    const locks = pool({})
    const single = pool({ max: 1, connectTimeout: 150 })
    const frozen = pool({ connectTimeout: 200 }, silentUrl)

    app.get('/probe/statement-timeout', async () => { await statement.query('SELECT pg_sleep(2)') })
    // The server-side timeout switched off for this session: only the client's query_timeout
    // (statement timeout + 1 s) can end the wait, as when the server is frozen mid-query.
    app.get('/probe/query-timeout', async () => {
      const client = await clientSide.connect()
      try {
        await client.query('SET statement_timeout = 0')
        await client.query('SELECT pg_sleep(3)')
      } finally {
        client.release(true)
      }
    })
    app.get('/probe/lock-timeout', async () => {
      const holder = await locks.connect()
      const waiter = await locks.connect()
      try {
        await holder.query('SELECT pg_advisory_lock(4242)')
        await waiter.query('SET lock_timeout = 100')
        await waiter.query('SELECT pg_advisory_lock(4242)')
      } finally {
        await holder.query('SELECT pg_advisory_unlock_all()')
        holder.release()
        waiter.release(true)
      }
    })
    app.get('/probe/pool-timeout', async () => {
      const only = await single.connect()
      try {
        await single.query('SELECT 1')
      } finally {
        only.release()
      }
    })
    app.get('/probe/connect-timeout', async () => { await frozen.query('SELECT 1') })
  }
})

let t: TestApp
beforeAll(async () => {
  // A server that accepts TCP and never answers: what a SIGSTOPped PostgreSQL looks like to a client.
  silent = createServer((socket) => { held.push(socket) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  silentUrl = `postgres://backplane@127.0.0.1:${(silent.address() as AddressInfo).port}/frozen`
  // The probe pools point at the app's own database: made here so its URL is known to them.
  database = await createTestDatabase()
  t = await createTestApp({ modules: [probe], database })
})
afterAll(async () => {
  await t?.close()
  await Promise.all(pools.map((p) => p.end().catch(() => {})))
  await database?.drop()
  for (const s of held) s.destroy()
  silent.close()
})

describe('database waits that time out (RL-02)', () => {
  const cases = [
    ['statement timeout (57014)', '/probe/statement-timeout'],
    ['client query_timeout ("Query read timeout")', '/probe/query-timeout'],
    ['lock timeout (55P03)', '/probe/lock-timeout'],
    ['pool wait ("timeout exceeded when trying to connect")', '/probe/pool-timeout'],
    ['connect to a frozen server ("Connection terminated due to connection timeout")', '/probe/connect-timeout']
  ] as const
  for (const [name, url] of cases) {
    it(`answers a ${name} with 503 problem+json and Retry-After`, async () => {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(503)
      expect(res.headers['retry-after']).toBe('1')
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      expect(['TIMEOUT', 'SERVICE_UNAVAILABLE']).toContain(res.json().code)
      expect(res.body).not.toMatch(/pg_sleep|advisory|timeout exceeded|Query read|terminated/)
    })
  }
})
