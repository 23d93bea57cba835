/** CrashHistory counts the worker deaths that came soon after their start. */
export interface CrashHistory { recent: number }

// A worker that lived this long before dying was healthy: its death starts the back-off afresh.
const HEALTHY_MS = 30_000
const FIRST_MS = 250
const MAX_MS = 15_000

/**
 * restartDelay is how long the primary waits before replacing a worker that died after `livedMs`:
 * 250 ms, doubling with each quick death up to 15 s, so a worker that crashes at start does not
 * spin the CPU, while a single crash of a long-lived worker is replaced at once.
 */
export function restartDelay (history: CrashHistory, livedMs: number): number {
  if (livedMs >= HEALTHY_MS) history.recent = 0
  const delay = Math.min(MAX_MS, FIRST_MS * 2 ** history.recent)
  history.recent++
  return delay
}
