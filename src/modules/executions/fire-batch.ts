import { isForeignKeyViolation } from '../../lib/sql-state.ts'
import { tracing, type TraceCarrier } from '../../platform/tracing.ts'
import type { FireJob } from '../tasks/index.ts'
import type { ExecutionsService } from './service.ts'

// The most fire jobs one transaction turns into runs.
const MAX_BATCH = 100
/** FIRE_CONCURRENCY is how many fire jobs a node takes at once: a batch gathering while the one before commits. */
export const FIRE_CONCURRENCY = 2 * MAX_BATCH

interface Waiting { job: FireJob, trace: TraceCarrier | null, resolve: () => void, reject: (err: unknown) => void }

/**
 * createFireBatcher turns the `tasks.fire` jobs a node runs at the same time into runs together:
 * while one transaction creates runs, the jobs that arrive wait and go in the next one (up to
 * MAX_BATCH), so a burst of due slots costs a few transactions rather than one each. Each job's
 * promise settles with its own run: when a batch fails, its jobs are tried one by one, so one bad
 * job (its task deleted since: nothing to run) never fails the others. A job resolves only once
 * its run is committed, so the queue acknowledges nothing that is not stored.
 */
export function createFireBatcher (executions: ExecutionsService) {
  const waiting: Waiting[] = []
  let flushing = false

  // One job alone, as before batching: a slot whose task was deleted after it fired runs nothing.
  async function fireOne ({ job, trace }: Waiting): Promise<void> {
    try {
      await executions.fireMany([{ task: job.task, slot: new Date(job.slot), trace }])
    } catch (err) {
      if (isForeignKeyViolation(err)) return
      throw err
    }
  }

  async function flush (): Promise<void> {
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, MAX_BATCH)
        try {
          await executions.fireMany(batch.map(({ job, trace }) => ({ task: job.task, slot: new Date(job.slot), trace })))
          for (const w of batch) w.resolve()
        } catch {
          await Promise.all(batch.map(async (w) => {
            try {
              await fireOne(w)
              w.resolve()
            } catch (err) { w.reject(err) }
          }))
        }
      }
    } finally {
      flushing = false
    }
  }

  return {
    /** fire creates the job's run (idempotent by the unique slot), batched with the jobs running beside it. */
    fire (job: FireJob): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        // The job's own trace (its consumer span): the run joins it, as a run created alone does.
        waiting.push({ job, trace: tracing.capture(), resolve, reject })
        if (flushing) return
        flushing = true
        // The jobs a fetch hands over together arrive in this same turn: gather them first.
        setImmediate(() => { flush().catch(() => {}) })
      })
    }
  }
}
