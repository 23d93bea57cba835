/** RETRY_AFTER_MAX_MS caps how long a receiver's Retry-After may push the next attempt back. */
export const RETRY_AFTER_MAX_MS = 3_600_000

/**
 * retryDelayMs is the wait before the next attempt after failed attempt `attempt` (1-based), or
 * null when the schedule is used up (the delivery gives up). The step grows along the schedule
 * (WEBHOOKS_RETRY_SCHEDULE, roughly exponential) and is jittered between half and all of it, so
 * endpoints that failed together are not retried together, yet never sooner than half the step.
 * A Retry-After from the receiver is honoured (up to an hour) when it asks for longer.
 */
export function retryDelayMs (schedule: readonly number[], attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number | null {
  const step = schedule[attempt - 1]
  if (step === undefined) return null
  const jittered = Math.round(step / 2 + random() * (step / 2))
  if (retryAfterMs === null) return jittered
  return Math.max(jittered, Math.min(retryAfterMs, RETRY_AFTER_MAX_MS))
}

/** BUSY_DELAY_MS bounds the wait of a delivery whose endpoint already has its share of attempts in flight. */
export const BUSY_DELAY_MS = { min: 100, max: 5000 } as const

/**
 * busyDelayMs is how long such a delivery waits before trying again: about as long as the oldest
 * attempt in flight has run so far (a fast receiver frees a slot within milliseconds, a slow one
 * keeps it for seconds, so waiting deliveries of a slow endpoint come back rarely and cost little),
 * within BUSY_DELAY_MS, times a jitter of 1–2 so they do not all come back at once.
 */
export function busyDelayMs (oldestInFlightMs: number, random: () => number = Math.random): number {
  const base = Math.min(Math.max(oldestInFlightMs, BUSY_DELAY_MS.min), BUSY_DELAY_MS.max)
  return Math.round(base * (1 + random()))
}
