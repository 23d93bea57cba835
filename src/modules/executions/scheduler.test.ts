import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { makeProject, makeTask } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser
let projectId: string

beforeAll(async () => {
  t = await createTestApp()
  await t.app.queue.start()
  owner = await makeUser(t.app)
  projectId = await makeProject(t.app, owner)
})
afterAll(async () => { await t.close() })

interface Run { slot: string | null, trigger: string, attempt: number, status: string }
async function runsOf (taskId: string): Promise<Run[]> {
  const res = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/executions?taskId=${taskId}&limit=100` }))
  return (res.json() as { items: Run[] }).items
}
const minute = 60_000

describe('the scheduler', () => {
  it('fires a due slot once, through the job queue, and moves the task to its next slot', async () => {
    const task = await makeTask(t.app, owner, projectId, { schedule: '*/5 * * * *', payload: { n: 1 } })
    const slot = Date.parse(task.nextRunAt!)
    expect(await t.app.workLoop.tick(new Date(slot - 1000))).toMatchObject({ fired: 0 })
    expect((await t.app.workLoop.tick(new Date(slot + 1000))).fired).toBeGreaterThanOrEqual(1)
    await vi.waitFor(async () => { expect(await runsOf(task.id)).toHaveLength(1) }, { timeout: 10_000, interval: 100 })
    expect((await runsOf(task.id))[0]).toMatchObject({ slot: new Date(slot).toISOString(), trigger: 'schedule', attempt: 1, status: 'queued' })
    const after = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/tasks/${task.id}` }))
    expect(Date.parse((after.json() as { nextRunAt: string }).nextRunAt)).toBe(slot + 5 * minute)
    // The same moment again (another node, or a clock that went back) fires nothing more.
    await t.app.workLoop.tick(new Date(slot + 1000))
    await t.app.workLoop.tick(new Date(slot - 10 * minute))
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await runsOf(task.id)).toHaveLength(1)
  })

  it('runs the slots missed while no node ran once (coalesced), then keeps to the schedule', async () => {
    const task = await makeTask(t.app, owner, projectId, { schedule: '* * * * *' })
    const slot = Date.parse(task.nextRunAt!)
    // Three hours of downtime: 180 missed minutes give one run.
    await t.app.workLoop.tick(new Date(slot + 180 * minute + 5000))
    await vi.waitFor(async () => { expect(await runsOf(task.id)).toHaveLength(1) }, { timeout: 10_000, interval: 100 })
    const after = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/tasks/${task.id}` }))
    expect(Date.parse((after.json() as { nextRunAt: string }).nextRunAt)).toBe(slot + 181 * minute)
  })

  it('never fires paused or deleted tasks; a slot fired just before its task was deleted runs nothing', async () => {
    const paused = await makeTask(t.app, owner, projectId, { schedule: '* * * * *' })
    await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/tasks/${paused.id}/pause` }))
    const deleted = await makeTask(t.app, owner, projectId, { schedule: '* * * * *' })
    await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/tasks/${deleted.id}` }))
    await t.app.workLoop.tick(new Date(Date.parse(paused.nextRunAt!) + 10 * minute))
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await runsOf(paused.id)).toHaveLength(0)
    const rows = await t.app.db.execute(sql`SELECT count(*)::int AS n FROM executions WHERE task_name = 'Task' AND task_id IS NULL`)
    expect((rows.rows[0] as { n: number }).n).toBe(0)
    // The job of a slot whose task is gone is dropped, not retried forever.
    await t.app.workLoop.handleFire({ task: { id: deleted.id, projectId, name: 'gone', payload: {}, targetAgentId: null, targetLabels: [], timeoutSeconds: 60, maxAttempts: 1, backoffSeconds: 1 }, slot: new Date().toISOString() })
  })

  it('turns fire jobs arriving together into runs together: each slot one run and one queued event, a deleted task costing the others nothing', async () => {
    const tasks = await Promise.all(Array.from({ length: 12 }, () => makeTask(t.app, owner, projectId, { schedule: '0 * * * *' })))
    const gone = await makeTask(t.app, owner, projectId, { schedule: '0 * * * *' })
    await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/tasks/${gone.id}` }))
    const slot = new Date(Date.parse(tasks[0]!.nextRunAt!)).toISOString()
    const job = (id: string) => ({ task: { id, projectId, name: 'batched', payload: {}, targetAgentId: null, targetLabels: [], timeoutSeconds: 60, maxAttempts: 1, backoffSeconds: 1 }, slot })
    // Delivered twice (at least once): the second round adds nothing.
    for (let round = 0; round < 2; round++) {
      await Promise.all([...tasks.map((task) => t.app.workLoop.handleFire(job(task.id))), t.app.workLoop.handleFire(job(gone.id))])
    }
    for (const task of tasks) expect(await runsOf(task.id)).toMatchObject([{ slot, trigger: 'schedule', status: 'queued' }])
    const events = await t.app.db.execute(sql`SELECT count(*)::int AS n FROM outbox WHERE type = 'execution.queued' AND data->>'taskId' = ANY(${sql.raw(`ARRAY['${tasks.map((task) => task.id).join("','")}']`)})`)
    expect((events.rows[0] as { n: number }).n).toBe(12)
  })
})
