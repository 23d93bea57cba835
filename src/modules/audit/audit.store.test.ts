import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { installAppendOnlyGuard } from './append-only.ts'
import { auditEvents } from './table.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

async function withClient<T> (url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

describe('audit_events is append-only in the database (LG-04)', () => {
  it('refuses UPDATE, DELETE and TRUNCATE from the application role', async () => {
    t.app.securityEvents.emit({ action: 'test.append_only', outcome: 'success', actorType: 'system' })
    const row = await expectAudit(t, { action: 'test.append_only', outcome: 'success' })
    await withClient(t.db.url, async (client) => {
      for (const statement of [
        `UPDATE audit_events SET outcome = 'failure' WHERE id = '${row.id}'`,
        `DELETE FROM audit_events WHERE id = '${row.id}'`,
        'DELETE FROM audit_events WHERE false',
        'TRUNCATE audit_events'
      ]) {
        await expect(client.query(statement), statement).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) })
      }
    })
    // And through the app's own pool and Drizzle.
    await expect(t.app.db.update(auditEvents).set({ action: 'x' }).where(eq(auditEvents.id, row.id))).rejects.toThrow()
    await expect(t.app.db.delete(auditEvents).where(eq(auditEvents.id, row.id))).rejects.toThrow()
    const [still] = await t.app.db.select().from(auditEvents).where(eq(auditEvents.id, row.id))
    expect(still).toMatchObject({ action: 'test.append_only', outcome: 'success' })
  })

  it('installs the guard idempotently, also when several nodes start at once', async () => {
    await Promise.all([installAppendOnlyGuard(t.app.db), installAppendOnlyGuard(t.app.db), installAppendOnlyGuard(t.app.db)])
    const result = await t.app.db.execute(sql`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal`)
    expect(result.rows[0]).toEqual({ n: 1 })
  })
})

describe('recording', () => {
  it('scrubs secrets from details before they are stored', async () => {
    const marker = randomBytes(6).toString('hex')
    const secret = `S3cret-${marker}`
    t.app.securityEvents.emit({
      action: 'test.redaction',
      outcome: 'success',
      targetId: marker,
      details: { password: secret, nested: { refreshToken: secret, note: `Bearer ${secret}` }, name: 'line\nbreak', huge: 'x'.repeat(900), more: 'y'.repeat(900) }
    })
    const row = await expectAudit(t, { action: 'test.redaction', outcome: 'success', targetId: marker })
    expect(JSON.stringify(row)).not.toContain(secret)
    expect(row.details).toMatchObject({ password: '[redacted]', nested: { refreshToken: '[redacted]', note: '[redacted]' }, name: 'line\nbreak' })
  })

  it('bounds huge details and stores odd text without failing the batch', async () => {
    const marker = randomBytes(6).toString('hex')
    t.app.securityEvents.emit({
      action: 'test.bounds',
      outcome: 'failure',
      targetId: marker,
      userAgent: `agent\u0000${'u'.repeat(600)}`,
      details: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, `\u0000${'v'.repeat(400)}`]))
    })
    const row = await expectAudit(t, { action: 'test.bounds', outcome: 'failure', targetId: marker })
    expect(row.details.truncated).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(row.details))).toBeLessThanOrEqual(4096)
    expect(row.userAgent!.length).toBeLessThanOrEqual(512)
    expect(row.userAgent).not.toContain('\u0000')
  })

  it('never lets a listener failure reach the request that reported the event', () => {
    expect(() => { t.app.securityEvents.emit({ action: undefined as unknown as string, outcome: 'bogus' as 'success', actorId: 'not-a-uuid' }) }).not.toThrow()
  })

  it('counts written events in /metrics', async () => {
    await t.app.audit.flush()
    const res = await t.app.inject({ method: 'GET', url: '/metrics' })
    const written = /^audit_events_written_total (\d+)$/m.exec(res.body)
    expect(Number(written?.[1])).toBeGreaterThan(0)
    expect(res.body).toMatch(/^audit_events_dropped_total\{reason="queue_full"\} 0$/m)
  })
})

describe('graceful shutdown', () => {
  it('writes every queued event before the pool closes', async () => {
    const other = await createTestApp()
    const marker = `shutdown-${randomBytes(4).toString('hex')}`
    for (let i = 0; i < 1_000; i++) other.app.securityEvents.emit({ action: 'test.shutdown', outcome: 'success', targetId: `${marker}-${i}`, actorType: 'system' })
    await other.app.close()
    try {
      const count = await withClient(other.db.url, async (client) => {
        const res = await client.query("SELECT count(*)::int AS n FROM audit_events WHERE action = 'test.shutdown' AND target_id LIKE $1", [`${marker}-%`])
        return (res.rows[0] as { n: number }).n
      })
      expect(count).toBe(1_000)
      expect(other.logs.text()).not.toMatch(/audit events dropped/)
    } finally {
      await other.db.drop()
    }
  })
})
