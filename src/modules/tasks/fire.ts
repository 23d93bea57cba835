import { Histogram, type Registry } from 'prom-client'
import { v5 as uuidv5 } from 'uuid'
import type { JobQueue } from '../../platform/queue.ts'
import { tracing } from '../../platform/tracing.ts'
import type { FireTask } from './due.ts'
import type { TaskRow } from './table.ts'

/** FIRE_JOB is the queue job a due (task, slot) becomes; the executions module handles it by creating the run. */
export const FIRE_JOB = 'tasks.fire'
// A fixed namespace: the job id of a (task, slot) is the same on every node, so the queue dedupes it too.
const SLOT_NAMESPACE = '6f1b1a52-8d0c-4e0e-9a51-2b7c2f0d9e11'

/** RunSnapshot is what a run copies from its task: the task as it was when its slot came due (or "run now" was asked). */
export type RunSnapshot = Pick<TaskRow, 'id' | 'projectId' | 'name' | 'payload' | 'targetAgentId' | 'targetLabels' | 'timeoutSeconds' | 'maxAttempts' | 'backoffSeconds'>

/** FireJob is the data of a `tasks.fire` job: the task as it was when its slot came due. */
export interface FireJob { task: RunSnapshot, slot: string }

/**
 * createFireSender is how a claimed slot leaves the tasks module: a `tasks.fire` job sent in the
 * claim's transaction (one job per (task, slot) on every node), in a new trace that the job, the
 * execution, the agent's claim and its reports all join. It observes how late the slot fired.
 */
export function createFireSender ({ queue, metrics }: { queue: JobQueue, metrics: Registry }): FireTask {
  const lateness = new Histogram({
    name: 'backplane_scheduler_lateness_seconds',
    help: 'How long after its slot a scheduled run was fired (fire time minus slot)',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [metrics]
  })
  return async (task, slot, tx) => {
    const { id, projectId, name, payload, targetAgentId, targetLabels, timeoutSeconds, maxAttempts, backoffSeconds } = task
    const snapshot: RunSnapshot = { id, projectId, name, payload, targetAgentId, targetLabels, timeoutSeconds, maxAttempts, backoffSeconds }
    const send = () => queue.send<FireJob>(FIRE_JOB, { task: snapshot, slot: slot.toISOString() }, { id: uuidv5(`${task.id}/${slot.toISOString()}`, SLOT_NAMESPACE) }, tx)
    lateness.observe(Math.max(0, (Date.now() - slot.getTime()) / 1000))
    await tracing.span('scheduler fire', { root: true, attributes: { 'backplane.task.id': id, 'backplane.slot': slot.toISOString(), 'backplane.scheduler.lateness_ms': Date.now() - slot.getTime() } }, send)
  }
}
