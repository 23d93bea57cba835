// How Backplane's jobs map onto pg-boss's: the options it stores with a job, and the reason it kept for a failure.
import { QUEUE_DEFAULTS, type OutgoingJob } from '../queue-port.ts'

/** jobOptions is what pg-boss stores of a job besides its data: id, start time and retry policy. */
export function jobOptions (job: OutgoingJob) {
  return {
    id: job.id,
    startAfter: job.startAfter,
    retryLimit: job.policy.retryLimit,
    retryDelay: job.policy.retryDelaySeconds,
    retryBackoff: job.policy.retryBackoff,
    // pg-boss takes a cap only with back-off; a base above the cap is kept as it is.
    ...(job.policy.retryBackoff ? { retryDelayMax: Math.max(QUEUE_DEFAULTS.maxRetryDelaySeconds, job.policy.retryDelaySeconds) } : {})
  }
}

/** outputMessage is the readable reason pg-boss kept for a failed job: its message, else its output as JSON (bounded). */
export function outputMessage (output: unknown): string | null {
  if (output === null || output === undefined) return null
  if (typeof output === 'object' && 'message' in output && typeof output.message === 'string') return output.message
  return JSON.stringify(output).slice(0, 2000)
}
