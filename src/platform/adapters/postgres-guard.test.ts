import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'

// A pooled connection must never be handed out inside a transaction. pg-boss sends its schema and
// maintenance commands through pool.query as one `BEGIN; …; COMMIT` text: when a statement in the
// middle fails, PostgreSQL leaves that connection's transaction open and aborted, and every later
// query on it failed with "current transaction is aborted" (25P02) until the process ended: the
// intermittent 500 of the workers test (TODO #11), where two workers installed pg-boss at once.
describe('guarded pool: no connection goes back to the pool inside a transaction', () => {
  let t: TestApp

  beforeAll(async () => {
    // One connection: the next query gets the very connection the previous one used.
    t = await createTestApp({ env: { DATABASE_POOL_MAX: '1' } })
  })
  afterAll(async () => { await t?.close() })

  it('a BEGIN…COMMIT sent through pool.query that fails half-way does not poison the next query', async () => {
    await expect(t.app.dbPool.query('BEGIN; SELECT 1/0; COMMIT')).rejects.toThrow(/division by zero/)
    expect((await t.app.dbPool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    expect((await t.app.db.execute(sql`SELECT 2 AS two`)).rows).toEqual([{ two: 2 }])
  })

  it('a client released in an open transaction is not handed out in it again', async () => {
    const client = await t.app.dbPool.connect()
    await client.query('BEGIN')
    await client.query('CREATE TEMP TABLE left_open (n int)')
    client.release()
    const next = await t.app.dbPool.connect()
    try {
      expect(next.getTransactionStatus()).toBe('I')
      // Nothing of the unfinished transaction is visible: its connection was closed, not reused.
      expect((await next.query("SELECT to_regclass('pg_temp.left_open') AS t")).rows).toEqual([{ t: null }])
    } finally {
      next.release()
    }
  })
})
