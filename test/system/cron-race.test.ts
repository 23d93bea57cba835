// Fault run R-CRON-RACE (SECURITY.md RL-06): three nodes run the scheduler over a fake clock for
// 100 one-minute ticks, all ticking at once; at random ticks one node is killed mid-tick and a
// new one takes its place; at tick 60 the clock jumps an hour. Slots are dispatched through the
// job queue (RabbitMQ on the services lane, pg-boss otherwise). Every (task, slot) must have
// exactly one execution, nothing fired may be lost, and missed slots are coalesced.
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser } from '../helpers/auth.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { amqpAvailable, amqpUrl } from '../helpers/queue.ts'
import { makeProject, makeTask } from '../helpers/work.ts'

const TASKS = 10
const TICKS = 100
const MINUTE = 60_000
const withAmqp = await amqpAvailable()
const env: Record<string, string> = withAmqp ? { AMQP_URL: amqpUrl } : {}

let db: TestDatabase
let observer: TestApp
let nodes: TestApp[] = []
const closing: Array<Promise<void>> = []

async function node (): Promise<TestApp> {
  const t = await createTestApp({ database: db, env })
  await t.app.queue.start()
  return t
}

beforeAll(async () => {
  db = await createTestDatabase()
  // Never killed and never ticking: it makes the data and reads the outcome.
  observer = await createTestApp({ database: db, env })
  nodes = [await node(), await node(), await node()]
})
afterAll(async () => {
  await Promise.allSettled(closing)
  for (const n of nodes) await n.close()
  await observer.close()
  await db.drop()
})

describe(`R-CRON-RACE, RL-06 (${withAmqp ? 'RabbitMQ' : 'pg-boss'})`, () => {
  it('gives each (task, slot) exactly one execution across three racing nodes, kills and a clock jump', async () => {
    const app = observer.app
    const owner = await makeUser(app)
    const projectId = await makeProject(app, owner)
    const tasks = await Promise.all(Array.from({ length: TASKS }, (_, i) => makeTask(app, owner, projectId, { name: `t${i}`, schedule: '* * * * *' })))
    const first = Math.min(...tasks.map((t) => Date.parse(t.nextRunAt!)))
    let now = first + 1000
    let kills = 0
    const random = seeded(42)
    for (let tick = 0; tick < TICKS; tick++) {
      if (tick === 60) now += 60 * MINUTE
      const at = new Date(now)
      // A killed node's round fails (its pool is gone); that is the point, not an error of the test.
      const rounds = nodes.map(async (n) => n.app.workLoop.tick(at).catch(() => undefined))
      if (random() < 0.1) {
        // Kill a node mid-tick: its pool is closed under its running transaction.
        const victim = Math.floor(random() * nodes.length)
        const dying = nodes[victim]!
        closing.push(dying.app.close().catch(() => {}))
        kills++
        nodes[victim] = await node()
      }
      await Promise.all(rounds)
      now += MINUTE
    }
    expect(kills).toBeGreaterThan(0)

    const count = async () => {
      const r = await app.db.execute<{ n: number, distinct: number }>(sql`SELECT count(*)::int AS n, count(DISTINCT (task_id, slot))::int AS distinct FROM executions WHERE project_id = ${projectId}`)
      return r.rows[0]!
    }
    // Every fired slot's job reaches an execution (the queue delivers at least once).
    const fired = async () => {
      const r = await app.db.execute<{ task_id: string, next_run_at: Date }>(sql`SELECT id AS task_id, next_run_at FROM tasks WHERE project_id = ${projectId}`)
      return r.rows
    }
    await vi.waitFor(async () => {
      const rows = await app.db.execute<{ task_id: string, last: Date | null }>(sql`
        SELECT t.id AS task_id, max(e.slot) AS last FROM tasks t LEFT JOIN executions e ON e.task_id = t.id
        WHERE t.project_id = ${projectId} GROUP BY t.id`)
      const next = new Map((await fired()).map((r) => [r.task_id, new Date(r.next_run_at).getTime()]))
      for (const r of rows.rows) {
        // The newest execution is the slot right before the task's next one: nothing fired is missing.
        expect(r.last, r.task_id).not.toBeNull()
        expect(next.get(r.task_id)! - new Date(r.last!).getTime()).toBeLessThanOrEqual(2 * MINUTE)
      }
    }, { timeout: 60_000, interval: 500 })

    const { n, distinct } = await count()
    expect(n).toBe(distinct)
    // One run per task per tick, less the slots coalesced when a killed node held them.
    expect(n).toBeLessThanOrEqual(TASKS * TICKS)
    expect(n).toBeGreaterThanOrEqual(TASKS * (TICKS - kills))
    // The hour-long jump ran once, not sixty times: slots are whole minutes and strictly increasing.
    const slots = await app.db.execute<{ task_id: string, slots: number[] }>(sql`
      SELECT task_id, array_agg((extract(epoch FROM slot) * 1000)::float8 ORDER BY slot) AS slots FROM executions WHERE project_id = ${projectId} GROUP BY task_id`)
    for (const row of slots.rows) {
      const times = row.slots
      for (const t of times) expect(t % MINUTE).toBe(0)
      const gaps = times.slice(1).map((t, i) => t - times[i]!)
      expect(gaps.filter((g) => g >= 60 * MINUTE)).toHaveLength(1)
    }
  }, 180_000)
})

// A small deterministic generator, so a failure can be replayed.
function seeded (seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}
