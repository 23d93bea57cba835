import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.ts'
import type { AgentsService } from '../agents/index.ts'
import type { TasksService } from '../tasks/index.ts'
import { createFireBatcher } from './fire-batch.ts'
import type { ExecutionsService } from './service.ts'

// Due slots claimed a transaction: each batch's jobs go out in one statement and commit together, so
// smaller batches let the nodes share a burst and its first runs start sooner.
const BATCH = 250

interface WorkLoopDeps {
  tasks: TasksService
  executions: ExecutionsService
  agents: AgentsService
  config: Config
  log: FastifyBaseLogger
}

/**
 * createWorkLoop is the background work every node runs. A due slot's path reads one way: the loop
 * asks the tasks module to fire what is due (SKIP LOCKED over tasks; it sends one `tasks.fire` job
 * per (task, slot) in the claim's transaction, whatever the number of nodes), the queue delivers the
 * job to `handleFire` here, which creates the execution. The loop also times out runs whose lease
 * passed and marks silent agents offline.
 */
export function createWorkLoop ({ tasks, executions, agents, config, log }: WorkLoopDeps) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let stopped = true
  const batcher = createFireBatcher(executions)

  /** tick does one round of background work at `now` (tests pass a fake clock). */
  async function tick (now: Date = new Date()): Promise<{ fired: number, timedOut: number, offline: number }> {
    let fired = 0
    if (config.work.schedulerEnabled) {
      // Catch up in batches: a thousand tasks due in the same minute all fire in this tick.
      for (;;) {
        const n = await tasks.fireDue(now, BATCH)
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
    /**
     * handleFire is the `tasks.fire` job handler: it creates the slot's execution (idempotent by the
     * unique slot), in one transaction with the other fire jobs running on this node (fire-batch.ts);
     * a slot whose task was deleted after it fired runs nothing.
     */
    handleFire: batcher.fire,
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
