import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { newId } from '../../lib/ids.ts'
import type { Database } from '../../platform/db.ts'
import type { FireMany, FireTask } from './due.ts'
import type { TaskRow } from './table.ts'
import { createTask, makeProject } from '../../../test/helpers/work.ts'

// fireDue is driven with explicit times: nothing here waits for a clock.
let a: TestApp
let b: TestApp
let owner: TestUser
let projectId: string

const HOUR = 3_600_000

// What the executions module does: one execution row per (task, slot), in the claim's transaction.
async function insertExecution (task: TaskRow, slot: Date, tx: Database): Promise<void> {
  await tx.execute(sql`INSERT INTO executions (id, task_id, project_id, task_name, trigger, slot, attempt, timeout_seconds)
    VALUES (${newId()}, ${task.id}, ${task.projectId}, ${task.name}, 'schedule', ${slot.toISOString()}, 1, ${task.timeoutSeconds})`)
}

function recorder () {
  const fired: Array<{ taskId: string, slot: string }> = []
  const fire: FireTask = async (task, slot, tx) => {
    await insertExecution(task, slot, tx)
    fired.push({ taskId: task.id, slot: slot.toISOString() })
  }
  return { fired, fire, of: (ids: string[]) => fired.filter((f) => ids.includes(f.taskId)) }
}

// The same for a claimed batch, in one statement (as the `tasks.fire` sender sends a batch's jobs).
async function insertExecutions (slots: Array<{ task: TaskRow, slot: Date }>, tx: Database): Promise<void> {
  const rows = JSON.stringify(slots.map(({ task, slot }) => ({ id: newId(), task_id: task.id, project_id: task.projectId, task_name: task.name, slot: slot.toISOString(), timeout_seconds: task.timeoutSeconds })))
  await tx.execute(sql`INSERT INTO executions (id, task_id, project_id, task_name, trigger, slot, attempt, timeout_seconds)
    SELECT id, task_id, project_id, task_name, 'schedule', slot, 1, timeout_seconds
    FROM json_to_recordset(${rows}::json) AS r(id uuid, task_id uuid, project_id uuid, task_name text, slot timestamptz, timeout_seconds int)`)
}

async function executionsOf (taskId: string): Promise<string[]> {
  const { rows } = await a.app.dbPool.query('SELECT slot FROM executions WHERE task_id = $1 ORDER BY slot', [taskId])
  return rows.map((r: { slot: Date }) => r.slot.toISOString())
}

async function stored (taskId: string): Promise<{ next_run_at: Date | null, enabled: boolean }> {
  const { rows } = await a.app.dbPool.query('SELECT next_run_at, enabled FROM tasks WHERE id = $1', [taskId])
  return rows[0]
}

const hourly = () => createTask(a.app, owner, projectId, { schedule: '0 * * * *' })

beforeAll(async () => {
  a = await createTestApp()
  // A second node of the same deployment: its own app and pool, the same database.
  b = await createTestApp({ database: a.db })
  owner = await makeUser(a.app)
  projectId = await makeProject(a.app, owner)
})
afterAll(async () => {
  await b.close()
  await a.close()
})

describe('fireDue', () => {
  it('fires a slot missed for hours once, then moves to the first slot after now (coalesced)', async () => {
    const task = await hourly()
    const slot = new Date(task.nextRunAt!)
    const now = new Date(slot.getTime() + 3 * HOUR + 60_000)
    const r = recorder()
    await a.app.tasks.fireDue(now, 100, r.fire)
    expect(r.of([task.id])).toEqual([{ taskId: task.id, slot: slot.toISOString() }])
    expect(await executionsOf(task.id)).toEqual([slot.toISOString()])
    expect((await stored(task.id)).next_run_at).toEqual(new Date(slot.getTime() + 4 * HOUR))
    // The reply shows the new slot; updated_at still says when a person last changed the task.
    const reply = (await a.app.inject(as(owner, { method: 'GET', url: `/api/v1/tasks/${task.id}` }))).json()
    expect(reply.nextRunAt).toBe(new Date(slot.getTime() + 4 * HOUR).toISOString())
    expect(reply.updatedAt).toBe(task.updatedAt)
  })

  it('never fires a slot again when the clock goes backwards', async () => {
    const task = await hourly()
    const slot = new Date(task.nextRunAt!)
    const r = recorder()
    await a.app.tasks.fireDue(new Date(slot.getTime() + 1000), 100, r.fire)
    await a.app.tasks.fireDue(slot, 100, r.fire)
    await a.app.tasks.fireDue(new Date(slot.getTime() - HOUR), 100, r.fire)
    await b.app.tasks.fireDue(new Date(slot.getTime() + 30_000), 100, r.fire)
    expect(r.of([task.id])).toHaveLength(1)
    expect(await executionsOf(task.id)).toEqual([slot.toISOString()])
  })

  it('fires each (task, slot) exactly once when two nodes claim at the same moment', async () => {
    const tasks = await Promise.all(Array.from({ length: 30 }, () => hourly()))
    const ids = tasks.map((task) => task.id)
    const now = new Date(Math.max(...tasks.map((task) => Date.parse(task.nextRunAt!))) + 1000)
    // Every call is counted, even one whose insert the unique constraint would refuse: the claim
    // alone must keep the second node away from the tasks the first one took.
    const calls: string[] = []
    const fire: FireTask = async (task, slot, tx) => {
      calls.push(task.id)
      await insertExecution(task, slot, tx)
    }
    const [firedA, firedB] = await Promise.all([a.app.tasks.fireDue(now, 100, fire), b.app.tasks.fireDue(now, 100, fire)])
    const mine = calls.filter((id) => ids.includes(id))
    expect(mine).toHaveLength(30)
    expect(new Set(mine).size).toBe(30)
    expect(firedA + firedB).toBeGreaterThanOrEqual(30)
    for (const id of ids) expect(await executionsOf(id)).toHaveLength(1)
    // And again, both nodes, same moment: nothing is due any more.
    const again = recorder()
    await Promise.all([a.app.tasks.fireDue(now, 100, again.fire), b.app.tasks.fireDue(now, 100, again.fire)])
    expect(again.of(ids)).toEqual([])
  })

  it('fires a claimed batch at once, each (task, slot) exactly once across two nodes claiming at the same moment', async () => {
    const tasks = await Promise.all(Array.from({ length: 40 }, () => hourly()))
    const ids = tasks.map((task) => task.id)
    const now = new Date(Math.max(...tasks.map((task) => Date.parse(task.nextRunAt!))) + 1000)
    const batches: string[][] = []
    const one: FireTask = async () => { throw new Error('a batch that succeeds is not fired one by one') }
    const many: FireMany = async (slots, tx) => {
      batches.push(slots.map((s) => s.task.id))
      await insertExecutions(slots, tx)
    }
    // Small batches, several passes each: the two nodes interleave their claims.
    const drain = async (app: TestApp['app']) => { while (await app.tasks.fireDue(now, 7, one, many) > 0);/* next batch */ }
    await Promise.all([drain(a.app), drain(b.app)])
    const mine = batches.flat().filter((id) => ids.includes(id))
    expect(mine).toHaveLength(40)
    expect(new Set(mine).size).toBe(40)
    expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(7)
    for (const task of tasks) {
      expect(await executionsOf(task.id)).toEqual([new Date(task.nextRunAt!).toISOString()])
      expect((await stored(task.id)).next_run_at).toEqual(new Date(Date.parse(task.nextRunAt!) + HOUR))
    }
  })

  it('fires the slots of a failed batch one by one: a slot already fired moves on, a failing one stays due', async () => {
    const already = await hourly()
    const failing = await hourly()
    const fine = await hourly()
    const slotOf = (task: typeof fine) => new Date(task.nextRunAt!)
    // A node whose clock was behind: `already` has its run for the slot its next_run_at names.
    await a.app.dbPool.query(`INSERT INTO executions (id, task_id, project_id, task_name, trigger, slot, attempt, timeout_seconds)
      SELECT $2, id, project_id, name, 'schedule', next_run_at, 1, timeout_seconds FROM tasks WHERE id = $1`, [already.id, newId()])
    const r = recorder()
    const one: FireTask = async (task, slot, tx) => {
      if (task.id === failing.id) throw new Error('queue unavailable')
      await r.fire(task, slot, tx)
    }
    let tried = 0
    const many: FireMany = async (slots, tx) => {
      tried++
      await insertExecutions(slots, tx) // the unique (task, slot) refuses the whole statement
    }
    const now = new Date(Math.max(...[already, failing, fine].map((task) => Date.parse(task.nextRunAt!))) + 1000)
    await a.app.tasks.fireDue(now, 1000, one, many)
    expect(tried).toBe(1)
    expect(r.of([already.id, failing.id, fine.id]).map((f) => f.taskId)).toEqual([fine.id])
    expect(await executionsOf(already.id)).toEqual([slotOf(already).toISOString()])
    expect(await executionsOf(fine.id)).toEqual([slotOf(fine).toISOString()])
    expect(await executionsOf(failing.id)).toEqual([])
    expect((await stored(already.id)).next_run_at).toEqual(new Date(slotOf(already).getTime() + HOUR))
    expect((await stored(fine.id)).next_run_at).toEqual(new Date(slotOf(fine).getTime() + HOUR))
    expect((await stored(failing.id)).next_run_at).toEqual(slotOf(failing))
  })

  it('counts a slot that already has its execution as fired and moves on (the unique constraint backs the claim)', async () => {
    const task = await hourly()
    const slot = new Date(task.nextRunAt!)
    const r = recorder()
    await a.app.tasks.fireDue(new Date(slot.getTime() + 1000), 100, r.fire)
    // A node whose clock is behind recomputed next_run_at onto the slot that already ran.
    await a.app.dbPool.query('UPDATE tasks SET next_run_at = $2 WHERE id = $1', [task.id, slot])
    const again = recorder()
    await a.app.tasks.fireDue(new Date(slot.getTime() + 2000), 100, again.fire)
    expect(again.of([task.id])).toEqual([])
    expect(await executionsOf(task.id)).toEqual([slot.toISOString()])
    expect((await stored(task.id)).next_run_at).toEqual(new Date(slot.getTime() + HOUR))
  })

  it('never fires paused, disabled or deleted tasks', async () => {
    const paused = await hourly()
    const deleted = await hourly()
    const disabled = await createTask(a.app, owner, projectId, { schedule: '0 * * * *', enabled: false })
    const onDemand = await createTask(a.app, owner, projectId, { schedule: null })
    expect((await a.app.inject(as(owner, { method: 'POST', url: `/api/v1/tasks/${paused.id}/pause` }))).statusCode).toBe(200)
    expect((await a.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/tasks/${deleted.id}` }))).statusCode).toBe(204)
    const r = recorder()
    await a.app.tasks.fireDue(new Date(Date.now() + 48 * HOUR), 1000, r.fire)
    expect(r.of([paused.id, deleted.id, disabled.id, onDemand.id])).toEqual([])
  })

  it('pauses a task whose schedule can no longer be read, and still fires the others', async () => {
    const broken = await hourly()
    const fine = await hourly()
    await a.app.dbPool.query("UPDATE tasks SET schedule = 'not a cron' WHERE id = $1", [broken.id])
    const r = recorder()
    await a.app.tasks.fireDue(new Date(Date.parse(fine.nextRunAt!) + 1000), 1000, r.fire)
    expect(r.of([broken.id, fine.id]).map((f) => f.taskId)).toEqual([fine.id])
    expect(await stored(broken.id)).toEqual({ next_run_at: null, enabled: false })
  })

  it('leaves a task due when firing it fails, without holding back the others', async () => {
    const failing = await hourly()
    const fine = await hourly()
    const r = recorder()
    const fire: FireTask = async (task, slot, tx) => {
      if (task.id === failing.id) {
        await insertExecution(task, slot, tx) // written, then rolled back with the savepoint
        throw new Error('queue unavailable')
      }
      await r.fire(task, slot, tx)
    }
    const now = new Date(Date.parse(fine.nextRunAt!) + 1000)
    await a.app.tasks.fireDue(now, 1000, fire)
    expect(r.of([failing.id, fine.id]).map((f) => f.taskId)).toEqual([fine.id])
    expect(await executionsOf(failing.id)).toEqual([])
    expect((await stored(failing.id)).next_run_at).toEqual(new Date(failing.nextRunAt!))
    // The next pass fires it.
    const retry = recorder()
    await a.app.tasks.fireDue(now, 1000, retry.fire)
    expect(retry.of([failing.id, fine.id]).map((f) => f.taskId)).toEqual([failing.id])
  })

  it('claims at most `limit` tasks a pass, oldest slot first', async () => {
    const far = new Date(Date.now() + 400 * 24 * HOUR)
    await a.app.tasks.fireDue(far, 100_000, async () => {}) // drain everything due by then
    const first = await createTask(a.app, owner, projectId, { schedule: '0 0 * * *' })
    const second = await createTask(a.app, owner, projectId, { schedule: '0 0 1 * *' })
    const third = await createTask(a.app, owner, projectId, { schedule: '0 0 1 1 *' })
    const ids = [first.id, second.id, third.id]
    const now = new Date(Math.max(...[first, second, third].map((task) => Date.parse(task.nextRunAt!))))
    const r = recorder()
    expect(await a.app.tasks.fireDue(now, 2, r.fire)).toBe(2)
    const expected = [first, second, third].sort((x, y) => Date.parse(x.nextRunAt!) - Date.parse(y.nextRunAt!)).map((task) => task.id)
    expect(r.of(ids).map((f) => f.taskId)).toEqual(expected.slice(0, 2))
    expect(await a.app.tasks.fireDue(now, 2, r.fire)).toBe(1)
    expect(await a.app.tasks.fireDue(now, 2, r.fire)).toBe(0)
    expect(await a.app.tasks.fireDue(now, 0, r.fire)).toBe(0)
  })
})
