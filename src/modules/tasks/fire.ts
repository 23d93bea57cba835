import { Histogram, type Registry } from 'prom-client'
import { v5 as uuidv5 } from 'uuid'
import type { JobQueue } from '../../platform/queue.ts'
import { tracing } from '../../platform/tracing.ts'
import type { DueSlot, FireMany, FireTask } from './due.ts'
import type { TaskRow } from './table.ts'

/** FIRE_JOB is the queue job a due (task, slot) becomes; the executions module handles it by creating the run. */
export const FIRE_JOB = 'tasks.fire'
// A fixed namespace: the job id of a (task, slot) is the same on every node, so the queue dedupes it too.
const SLOT_NAMESPACE = '6f1b1a52-8d0c-4e0e-9a51-2b7c2f0d9e11'

/** RunSnapshot is what a run copies from its task: the task as it was when its slot came due (or "run now" was asked). */
export type RunSnapshot = Pick<TaskRow, 'id' | 'projectId' | 'name' | 'payload' | 'targetAgentId' | 'targetLabels' | 'timeoutSeconds' | 'maxAttempts' | 'backoffSeconds'>

/** FireJob is the data of a `tasks.fire` job: the task as it was when its slot came due. */
export interface FireJob { task: RunSnapshot, slot: string }

// The job of a (task, slot): the task as it is now, under an id every node derives the same way.
function fireJob (task: TaskRow, slot: Date) {
  const { id, projectId, name, payload, targetAgentId, targetLabels, timeoutSeconds, maxAttempts, backoffSeconds } = task
  const snapshot: RunSnapshot = { id, projectId, name, payload, targetAgentId, targetLabels, timeoutSeconds, maxAttempts, backoffSeconds }
  return { data: { task: snapshot, slot: slot.toISOString() } satisfies FireJob, options: { id: uuidv5(`${task.id}/${slot.toISOString()}`, SLOT_NAMESPACE) } }
}

/**
 * createFireSender is how a claimed slot leaves the tasks module: a `tasks.fire` job sent in the
 * claim's transaction (one job per (task, slot) on every node), in a new trace that the job, the
 * execution, the agent's claim and its reports all join. It observes how late the slot fired.
 * `one` sends one slot's job; `many` sends a claimed batch's jobs in one statement, each still in
 * a trace of its own (a root span per slot, when tracing is on).
 */
export function createFireSender ({ queue, metrics }: { queue: JobQueue, metrics: Registry }): { one: FireTask, many: FireMany } {
  const lateness = new Histogram({
    name: 'backplane_scheduler_lateness_seconds',
    help: 'How long after its slot a scheduled run was fired (fire time minus slot)',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [metrics]
  })
  const observe = (slot: Date) => { lateness.observe(Math.max(0, (Date.now() - slot.getTime()) / 1000)) }
  const inSpan = <T>(task: TaskRow, slot: Date, fn: () => Promise<T>) => {
    observe(slot)
    return tracing.span('scheduler fire', { root: true, attributes: { 'backplane.task.id': task.id, 'backplane.slot': slot.toISOString(), 'backplane.scheduler.lateness_ms': Date.now() - slot.getTime() } }, fn)
  }
  return {
    one: async (task, slot, tx) => {
      const { data, options } = fireJob(task, slot)
      await inSpan(task, slot, () => queue.send<FireJob>(FIRE_JOB, data, options, tx))
    },
    many: async (slots: DueSlot[], tx) => {
      // Each slot's span only hands its context to the job: the batch's one INSERT follows.
      const jobs = await Promise.all(slots.map(async ({ task, slot }) => ({ ...fireJob(task, slot), trace: await inSpan(task, slot, async () => tracing.capture()) })))
      await queue.sendMany<FireJob>(FIRE_JOB, jobs, tx)
    }
  }
}
