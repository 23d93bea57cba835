import { eq, sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { nextRuns } from '../../lib/cron.ts'
import { isUniqueViolation } from '../../lib/sql-state.ts'
import type { Database } from '../../platform/db.ts'
import { createTasksRepository } from './repository.ts'
import { tasks, type TaskRow } from './table.ts'

/** FireTask hands one slot of a task on, writing in the claim's transaction (the tasks module's sender: a `tasks.fire` job, fire.ts). */
export type FireTask = (task: TaskRow, slot: Date, tx: Database) => Promise<void>

/** DueSlot is one claimed slot of a task. */
export interface DueSlot { task: TaskRow, slot: Date }

/** FireMany hands a claimed batch of slots on at once (one `tasks.fire` job each, in one statement), in the claim's transaction. */
export type FireMany = (slots: DueSlot[], tx: Database) => Promise<void>

// The first run strictly after both the slot and now: the slots missed while no node ran are
// folded into the one being fired, and next_run_at only ever moves forward.
function nextAfter (task: TaskRow, slot: Date, now: Date): Date | null {
  if (task.schedule === null) return null
  return nextRuns(task.schedule, task.timezone, new Date(Math.max(now.getTime(), slot.getTime())), 1)[0] ?? null
}

/**
 * createDueTasks is the scheduler's side of the tasks module: claiming due tasks, handing their
 * slots on (`fireMany` for a claimed batch, `fire` for one slot: the `tasks.fire` jobs the
 * executions module turns into runs) and moving each task to its next slot.
 */
export function createDueTasks ({ db, log, fire: send, fireMany: sendMany }: { db: Database, log: FastifyBaseLogger, fire: FireTask, fireMany?: FireMany }) {
  const repo = createTasksRepository(db)

  // The scheduler's bookkeeping is not an edit: updated_at keeps the time a person last changed the task.
  const setNext = (id: string, values: { nextRunAt: Date | null, enabled?: boolean }, tx: Database) =>
    tx.update(tasks).set({ ...values, updatedAt: sql`${tasks.updatedAt}` }).where(eq(tasks.id, id))
  // The same for a batch of fired tasks, in one statement.
  const setNextMany = async (moved: Array<{ task: TaskRow, next: Date | null }>, tx: Database) => {
    if (moved.length === 0) return
    const rows = JSON.stringify(moved.map(({ task, next }) => ({ id: task.id, next: next?.toISOString() ?? null })))
    await tx.execute(sql`UPDATE ${tasks} SET next_run_at = v.next
      FROM json_to_recordset(${rows}::json) AS v(id uuid, next timestamptz) WHERE ${tasks.id} = v.id`)
  }

  return {
    /**
     * fireDue claims up to `limit` enabled tasks whose next_run_at <= now, in ONE transaction with
     * SELECT … FOR UPDATE SKIP LOCKED (so concurrent nodes never take the same task), hands their
     * slots on (slot = next_run_at; the `tasks.fire` jobs are sent in tx, so a slot's run exists if
     * and only if the claim committed), then sets next_run_at to the first run strictly after
     * max(now, slot) — so missed slots are coalesced into the one being fired, and a clock that
     * moved backwards never fires a slot twice (next_run_at only moves forward). Returns how many
     * fired. A task whose schedule became invalid is paused (next_run_at null) rather than crashing the loop.
     *
     * The batch goes out with `fireMany` in one savepoint: a few statements whatever its size. If
     * that fails (or there is no `fireMany`, as when a test passes its own `fire`), each slot is
     * fired alone with `fire` in a savepoint of its own: one that hits the (task, slot) unique
     * constraint (a node with a clock behind set next_run_at back onto a fired slot) counts as
     * already fired and the task moves on; one that fails otherwise is logged and left due, to be
     * tried on the next pass.
     */
    async fireDue (now: Date, limit: number, fire: FireTask = send, fireMany: FireMany | undefined = fire === send ? sendMany : undefined): Promise<number> {
      if (!Number.isInteger(limit) || limit < 1) return 0
      // Tasks of a batch often share a schedule and a slot: each next slot is reckoned once (a
      // cron walk costs ~0.1–0.5 ms, a sizeable part of a batch of 250).
      const reckoned = new Map<string, Date | null>()
      const nextOf = (task: TaskRow, slot: Date): Date | null => {
        const key = `${task.schedule}\n${task.timezone}\n${Math.max(now.getTime(), slot.getTime())}`
        if (!reckoned.has(key)) reckoned.set(key, nextAfter(task, slot, now))
        return reckoned.get(key) ?? null
      }
      return db.transaction(async (tx) => {
        const due: Array<DueSlot & { next: Date | null }> = []
        for (const task of await repo.claimDue(now, limit, tx)) {
          const slot = task.nextRunAt!
          let next: Date | null
          try {
            next = nextOf(task, slot)
          } catch (err) {
            log.warn({ taskId: task.id, schedule: task.schedule, timezone: task.timezone, err: { message: (err as Error).message } }, 'task schedule can no longer be read; task paused')
            await setNext(task.id, { nextRunAt: null, enabled: false }, tx)
            continue
          }
          if (task.schedule === null) {
            await setNext(task.id, { nextRunAt: null }, tx)
            continue
          }
          due.push({ task, slot, next })
        }
        if (due.length === 0) return 0
        if (fireMany) {
          try {
            await tx.transaction(async (savepoint) => { await fireMany(due, savepoint) })
            await setNextMany(due, tx)
            return due.length
          } catch (err) {
            log.warn({ count: due.length, err: { message: (err as Error).message } }, 'could not fire a batch of due tasks at once; firing them one by one')
          }
        }
        let fired = 0
        const moved: typeof due = []
        for (const one of due) {
          try {
            await tx.transaction(async (savepoint) => { await fire(one.task, one.slot, savepoint) })
            fired++
          } catch (err) {
            if (!isUniqueViolation(err)) {
              log.error({ taskId: one.task.id, slot: one.slot.toISOString(), err }, 'could not fire a due task; retrying on the next pass')
              continue
            }
          }
          moved.push(one)
        }
        await setNextMany(moved, tx)
        return fired
      })
    }
  }
}
