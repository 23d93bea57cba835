import type { FastifyBaseLogger } from 'fastify'
import { v5 as uuidv5 } from 'uuid'
import type { Config } from '../../config.ts'
import { isForeignKeyViolation } from '../../lib/sql-state.ts'
import type { JobQueue } from '../../platform/queue.ts'
import { tracing } from '../../platform/tracing.ts'
import type { AgentsService } from '../agents/index.ts'
import type { TasksService } from '../tasks/index.ts'
import type { ExecutionsService, RunSnapshot } from './service.ts'

/** FIRE_JOB is the queue job that turns a due (task, slot) into its execution. */
export const FIRE_JOB = 'tasks.fire'
// A fixed namespace: the job id of a (task, slot) is the same on every node, so the queue dedupes it too.
const SLOT_NAMESPACE = '6f1b1a52-8d0c-4e0e-9a51-2b7c2f0d9e11'
const BATCH = 500

/** FireJob is the data of a `tasks.fire` job: the task as it was when its slot came due. */
export interface FireJob { task: RunSnapshot, slot: string }

interface WorkLoopDeps {
  tasks: TasksService
  executions: ExecutionsService
  agents: AgentsService
  queue: JobQueue
  config: Config
  log: FastifyBaseLogger
  /** observeLateness receives how late each slot was fired, in seconds (for /metrics). */
  observeLateness?: (seconds: number) => void
}

/**
 * createWorkLoop is the background work every node runs: fire due task slots through the job
 * queue (SKIP LOCKED over tasks; one job and one execution per (task, slot) whatever the number of
 * nodes), time out runs whose lease passed, and mark silent agents offline.
 */
export function createWorkLoop ({ tasks, executions, agents, queue, config, log, observeLateness }: WorkLoopDeps) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let stopped = true

  const fire = async (task: RunSnapshot, slot: Date, tx: Parameters<JobQueue['send']>[3]) => {
    const { id, projectId, name, payload, targetAgentId, targetLabels, timeoutSeconds, maxAttempts, backoffSeconds } = task
    const snapshot: RunSnapshot = { id, projectId, name, payload, targetAgentId, targetLabels, timeoutSeconds, maxAttempts, backoffSeconds }
    const send = () => queue.send<FireJob>(FIRE_JOB, { task: snapshot, slot: slot.toISOString() }, { id: uuidv5(`${task.id}/${slot.toISOString()}`, SLOT_NAMESPACE) }, tx)
    // A scheduled run starts its own trace here; the fire job, the execution, the agent's claim,
    // progress and completion all join it.
    observeLateness?.((Date.now() - slot.getTime()) / 1000)
    await tracing.span('scheduler fire', { root: true, attributes: { 'backplane.task.id': id, 'backplane.slot': slot.toISOString(), 'backplane.scheduler.lateness_ms': Date.now() - slot.getTime() } }, send)
  }

  /** tick does one round of background work at `now` (tests pass a fake clock). */
  async function tick (now: Date = new Date()): Promise<{ fired: number, timedOut: number, offline: number }> {
    let fired = 0
    if (config.work.schedulerEnabled) {
      // Catch up in batches: a thousand tasks due in the same minute all fire in this tick.
      for (;;) {
        const n = await tasks.fireDue(now, BATCH, fire)
        fired += n
        if (n < BATCH) break
      }
    }
    const { timedOut } = await executions.sweep(now)
    const offline = await agents.sweepOffline(now)
    return { fired, timedOut, offline }
  }

  function schedule (): void {
    if (stopped) return
    timer = setTimeout(() => {
      running = tick().catch((err: unknown) => {
        // A database outage must not stop the loop: the next tick tries again.
        log.error({ err }, 'background work failed; retrying on the next tick')
      }).finally(() => { running = undefined; schedule() })
    }, config.work.schedulerIntervalMs)
    timer.unref()
  }

  return {
    tick,
    /** handleFire is the `tasks.fire` job handler: it creates the slot's execution (idempotent by the unique slot). */
    async handleFire (job: FireJob): Promise<void> {
      try {
        await executions.fire(job.task, new Date(job.slot))
      } catch (err) {
        // The task was deleted after its slot fired: nothing to run.
        if (isForeignKeyViolation(err)) return
        throw err
      }
    },
    start (): void {
      if (!stopped) return
      stopped = false
      schedule()
    },
    async stop (): Promise<void> {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    }
  }
}
