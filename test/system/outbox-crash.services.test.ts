import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PublishedEvent } from '../../src/platform/events.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser } from '../helpers/auth.ts'
import { runNode } from '../helpers/process.ts'
import { canConnectRedis, redisUrl, requireServices } from '../helpers/services.ts'
import { makeProject } from '../helpers/work.ts'

// R-OUTBOX with a real process: a node whose relay is SIGKILLed between handing events to Redis
// and committing them as published. Every committed change is delivered (at least once, one id
// each, so deduplicated exactly once, in order per aggregate); no rolled-back change ever is.
const available = await canConnectRedis()
if (!available && requireServices) throw new Error(`Redis does not answer at ${redisUrl} (BACKPLANE_REQUIRE_SERVICES=1)`)

async function runRelay (env: Record<string, string>): Promise<{ signal: NodeJS.Signals | null, code: number | null, output: string }> {
  const run = runNode(['test/fixtures/outbox-relay.ts'], { LOG_LEVEL: 'warn', BACKPLANE_ENV: 'test', BACKPLANE_SECRET: 'test-secret-0123456789-abcdefghijklmnop', ...env })
  const { code, signal } = await run.exited
  return { code, signal, output: run.output() }
}

describe.skipIf(!available)('R-OUTBOX: a node killed between publishing and committing', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ env: { REDIS_URL: redisUrl } }) })
  afterAll(async () => { await t?.close() })

  it('RL-05 (R-OUTBOX): loses no committed change, publishes no rolled-back one, and keeps each aggregate in order', async () => {
    const owner = await makeUser(t.app)
    const project = await makeProject(t.app, owner)
    // Events from this database only: other test files may share the Redis channel.
    const received: PublishedEvent[] = []
    t.app.events.subscribe((e) => { if (e.aggregate === `project:${project}` || e.type === 'test.rolled_back') received.push(e) })
    await t.app.db.execute(sql`UPDATE outbox SET published_at = now() WHERE published_at IS NULL`)

    const names: string[] = []
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 5) {
        // A business write that fails after recording its event.
        await t.app.db.transaction(async (tx) => {
          await t.app.events.record({ type: 'test.rolled_back', aggregate: `project:${project}`, channels: [`project:${project}`], data: { i } }, tx)
          throw new Error('rolled back')
        }).catch(() => {})
        continue
      }
      const res = await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/projects/${project}`, payload: { name: `name ${i}` } }))
      expect(res.statusCode, res.body).toBe(200)
      names.push(`name ${i}`)
    }

    const env = { DATABASE_URL: t.db.url, REDIS_URL: redisUrl }
    const killed = await runRelay({ ...env, KILL_AFTER: '120' })
    expect(killed.signal, killed.output).toBe('SIGKILL')
    const handed = [...killed.output.matchAll(/^handed (\S+)$/gm)].map((m) => m[1])
    expect(handed).toHaveLength(120)
    const unpublished = await t.app.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`)
    expect(unpublished.rows[0]!.n).toBe(names.length) // the killed pass committed nothing

    const survivor = await runRelay(env)
    expect(survivor.code, survivor.output).toBe(0)
    const until = Date.now() + 10_000
    while (new Set(received.map((e) => e.id)).size < names.length && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))

    const committed = await t.app.db.execute<{ id: string }>(sql`SELECT id FROM outbox WHERE aggregate = ${`project:${project}`} AND type = 'project.updated' ORDER BY seq`)
    expect(committed.rows).toHaveLength(names.length)
    const firstSeen = [...new Map(received.map((e) => [e.id, e])).values()]
    expect(firstSeen.map((e) => e.id)).toEqual(committed.rows.map((r) => r.id))
    expect(firstSeen.map((e) => e.data.name)).toEqual(names)
    // The killed pass really published before it died: those events came twice, with one id each.
    expect(received.length).toBe(names.length + handed.length)
    expect(received.filter((e) => e.type === 'test.rolled_back')).toEqual([])
    const left = await t.app.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`)
    expect(left.rows[0]!.n).toBe(0)
    console.info(`R-OUTBOX: ${names.length} committed, 30 rolled back; killed after handing ${handed.length} to Redis; delivered ${received.length} (${handed.length} duplicates by id), 0 lost, 0 rolled-back`)
  }, 120_000)
})
