import { eq, sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { nextRuns } from '../../lib/cron.ts'
import { isUniqueViolation } from '../../lib/sql-state.ts'
import type { Database } from '../../platform/db.ts'
import { createTasksRepository } from './repository.ts'
import { tasks, type TaskRow } from './table.ts'

/** FireTask hands one slot of a task on, writing in the claim's transaction (the tasks module's sender: a `tasks.fire` job, fire.ts). */
export type FireTask = (task: TaskRow, slot: Date, tx: Database) => Promise<void>

// The first run strictly after both the slot and now: the slots missed while no node ran are
// folded into the one being fired, and next_run_at only ever moves forward.
function nextAfter (task: TaskRow, slot: Date, now: Date): Date | null {
  if (task.schedule === null) return null
  return nextRuns(task.schedule, task.timezone, new Date(Math.max(now.getTime(), slot.getTime())), 1)[0] ?? null
}

/**
 * createDueTasks is the scheduler's side of the tasks module: claiming due tasks, handing each slot
 * on with `fire` (the `tasks.fire` job the executions module turns into a run) and moving the task
 * to its next slot.
 */
export function createDueTasks ({ db, log, fire: send }: { db: Database, log: FastifyBaseLogger, fire: FireTask }) {
  const repo = createTasksRepository(db)

  // The scheduler's bookkeeping is not an edit: updated_at keeps the time a person last changed the task.
  const setNext = (id: string, values: { nextRunAt: Date | null, enabled?: boolean }, tx: Database) =>
    tx.update(tasks).set({ ...values, updatedAt: sql`${tasks.updatedAt}` }).where(eq(tasks.id, id))

  return {
    /**
     * fireDue claims up to `limit` enabled tasks whose next_run_at <= now, in ONE transaction with
     * SELECT … FOR UPDATE SKIP LOCKED (so concurrent nodes never take the same task), calls
     * `fire(task, slot, tx)` for each (slot = its next_run_at; by default the `tasks.fire` job is
     * sent in tx, so the slot's run exists if and only if the claim committed),
     * then sets next_run_at to the first run strictly after max(now, slot) — so missed slots are
     * coalesced into the one being fired, and a clock that moved backwards never fires a slot twice
     * (next_run_at only moves forward). Returns how many fired. A task whose schedule became invalid
     * is paused (next_run_at null) rather than crashing the loop.
     *
     * Each `fire` runs in a savepoint: one that hits the (task, slot) unique constraint (a node with
     * a clock behind set next_run_at back onto a fired slot) counts as already fired and the task
     * moves on; one that fails otherwise is logged and left due, to be tried on the next pass.
     */
    async fireDue (now: Date, limit: number, fire: FireTask = send): Promise<number> {
      if (!Number.isInteger(limit) || limit < 1) return 0
      return db.transaction(async (tx) => {
        let fired = 0
        for (const task of await repo.claimDue(now, limit, tx)) {
          const slot = task.nextRunAt!
          let next: Date | null
          try {
            next = nextAfter(task, slot, now)
          } catch (err) {
            log.warn({ taskId: task.id, schedule: task.schedule, timezone: task.timezone, err: { message: (err as Error).message } }, 'task schedule can no longer be read; task paused')
            await setNext(task.id, { nextRunAt: null, enabled: false }, tx)
            continue
          }
          if (task.schedule === null) {
            await setNext(task.id, { nextRunAt: null }, tx)
            continue
          }
          try {
            await tx.transaction(async (savepoint) => { await fire(task, slot, savepoint) })
            fired++
          } catch (err) {
            if (!isUniqueViolation(err)) {
              log.error({ taskId: task.id, slot: slot.toISOString(), err }, 'could not fire a due task; retrying on the next pass')
              continue
            }
          }
          await setNext(task.id, { nextRunAt: next }, tx)
        }
        return fired
      })
    }
  }
}
