import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { createEvents, type DomainEvent, type PublishedEvent } from './events.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

const event = (n: number, aggregate = 'thing:a', channels = ['project:p1']): DomainEvent => ({ type: 'thing.changed', aggregate, channels, data: { n } })
const record = async (...list: DomainEvent[]) => t.app.db.transaction(async (tx) => { for (const e of list) await t.app.events.record(e, tx) })

async function drain (): Promise<void> {
  while (await t.app.events.relayOnce() > 0) { /* until nothing is left */ }
}

describe('the outbox and its relay', () => {
  it('publishes committed events in order, once, to every subscriber, and never rolled-back ones', async () => {
    await drain()
    const seen: PublishedEvent[] = []
    const off = t.app.events.subscribe((e) => { seen.push(e) })
    await record(event(1), event(2))
    await t.app.db.transaction(async (tx) => {
      await t.app.events.record(event(99), tx)
      tx.rollback()
    }).catch(() => {})
    await record(event(3))
    expect(await t.app.events.relayOnce()).toBe(3)
    await new Promise((resolve) => setTimeout(resolve, 20))
    off()
    expect(seen.map((e) => e.data.n)).toEqual([1, 2, 3])
    expect(seen.map((e) => e.position)).toEqual([...seen.map((e) => e.position)].sort((a, b) => a - b))
    expect(await t.app.events.relayOnce()).toBe(0)
  })

  it('replays what a channel missed after an event id, and reports a gap for an unknown or pruned one', async () => {
    await drain()
    const seen: PublishedEvent[] = []
    const off = t.app.events.subscribe((e) => { seen.push(e) })
    await record(event(10, 'thing:b', ['project:x']), event(11, 'thing:b', ['project:y']), event(12, 'thing:b', ['project:x', 'user:u']))
    await drain()
    await new Promise((resolve) => setTimeout(resolve, 20))
    off()
    const first = seen.find((e) => e.data.n === 10)!
    const replay = await t.app.events.replay(first.id, ['project:x'])
    expect(replay).toMatchObject({ gap: false })
    expect(replay.events.map((e) => e.data.n)).toEqual([12])
    expect(await t.app.events.replay('01900000-0000-7000-8000-000000000000', ['project:x'])).toEqual({ gap: true, events: [] })
    expect(await t.app.events.replay('not-an-id', ['project:x'])).toEqual({ gap: true, events: [] })
    // Past the retention window, the event is gone and so is the way back.
    await t.app.db.execute(sql`UPDATE outbox SET published_at = now() - interval '25 hours' WHERE id = ${first.id}`)
    const events = t.app.events as typeof t.app.events & { prune: () => Promise<number> }
    expect(await events.prune()).toBeGreaterThanOrEqual(1)
    expect((await t.app.events.replay(first.id, ['project:x'])).gap).toBe(true)
  })

  it('runs publish handlers once per event inside the relay transaction', async () => {
    await drain()
    const handled: string[] = []
    const local = createEvents({ db: t.app.db, publish: async () => {}, retentionHours: 24 })
    local.onPublish(async (e, tx) => {
      handled.push(e.id)
      await tx.execute(sql`SELECT 1`)
    })
    await record(event(20), event(21))
    expect(await local.relayOnce()).toBe(2)
    expect(handled).toHaveLength(2)
  })
})

describe('R-OUTBOX: a relay that crashes between its work and its commit', () => {
  it('loses no committed event and, deduplicated by id, delivers each exactly once', async () => {
    await drain()
    const delivered = new Map<string, number>()
    // Each relay pass picks its fate: the first dies half-way through handing events over (those
    // before went out, the rest did not), the second dies after handing all of them over but
    // before its commit, the third succeeds; and again.
    let pass = 0
    let handed = 0
    let batch = 0
    const faulty = createEvents({
      db: t.app.db,
      retentionHours: 24,
      publish: async (message) => {
        const e = JSON.parse(message) as PublishedEvent
        handed++
        if (pass % 3 === 0 && handed > 5) throw new Error('relay crashed while publishing')
        delivered.set(e.id, (delivered.get(e.id) ?? 0) + 1)
        if (pass % 3 === 1 && handed === batch) throw new Error('relay crashed after publishing, before committing')
      }
    })
    const committed: number[] = []
    for (let i = 0; i < 200; i++) {
      const n = 1000 + i
      if (i % 7 === 0) {
        // A business write that fails: its event must never be seen.
        await t.app.db.transaction(async (tx) => { await faulty.record(event(n, `w:${i}`), tx); tx.rollback() }).catch(() => {})
      } else {
        await t.app.db.transaction(async (tx) => { await faulty.record(event(n, `w:${i}`), tx) })
        committed.push(n)
      }
    }
    for (pass = 0; pass < 30; pass++) {
      const left = await t.app.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`)
      batch = Math.min(left.rows[0]!.n, 500)
      if (batch === 0) break
      handed = 0
      await faulty.relayOnce().catch(() => {})
    }
    const rows = await t.app.db.execute<{ id: string, n: number, position: number | null }>(sql`
      SELECT id, (data->>'n')::int AS n, position FROM outbox WHERE (data->>'n')::int >= 1000`)
    expect(rows.rows.map((r) => r.n).sort((a, b) => a - b)).toEqual(committed)
    // Every committed event went out at least once; none of the rolled-back ones did.
    for (const r of rows.rows) expect(delivered.get(r.id), String(r.n)).toBeGreaterThanOrEqual(1)
    expect(delivered.size).toBe(committed.length)
    expect([...delivered.values()].some((count) => count > 1)).toBe(true)
  })
})

describe('several relays', () => {
  it('publish each event once between them (one relay at a time)', async () => {
    await drain()
    const other = await createTestApp({ database: t.db })
    try {
      // Without Redis each app's pubsub is its own: count what either of them published.
      const seen: string[] = []
      const offs = [t.app, other.app].map((a) => a.events.subscribe((e) => { seen.push(e.id) }))
      const off = () => { for (const o of offs) o() }
      for (let i = 0; i < 50; i++) await record(event(2000 + i, `r:${i % 5}`))
      await Promise.all(Array.from({ length: 10 }, async (_, i) => (i % 2 ? t.app : other.app).events.relayOnce()))
      await drain()
      await new Promise((resolve) => setTimeout(resolve, 50))
      off()
      expect(seen).toHaveLength(50)
      expect(new Set(seen).size).toBe(50)
    } finally {
      await other.close()
    }
  })
})
