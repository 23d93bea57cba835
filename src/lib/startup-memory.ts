import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type CollectGarbage = (options: { type: 'major', flavor: 'last-resort' }) => void

/** StartupMemoryRelease is what releaseStartupMemory did: the process RSS before and after, the pause, and whether it collected. */
export interface StartupMemoryRelease { rssBeforeMb: number, rssAfterMb: number, ms: number, collected: boolean }

// V8's own memory reducer would do this, but only after a major collection while the heap still
// grows; Node never tells V8 it is idle. So a node that has just started keeps what start-up left
// behind: module-loading garbage, the young generation grown to --max-semi-space-size during the
// migrations and route compilation, bytecode of functions that ran once. In the issue 13 measure
// that was ~140 MB of RSS against ~116 MB after this collection.
function collector (): CollectGarbage | undefined {
  const exposed = (globalThis as { gc?: CollectGarbage }).gc
  if (exposed) return exposed
  // --expose-gc set after start only gives `gc` to contexts made from now on: this one, which is
  // dropped at once; the flag is turned back off, so no later context (and no dependency) sees it.
  // Should `gc` still be missing (a Node that ignores late flags), the collection is skipped.
  setFlagsFromString('--expose-gc')
  try {
    return runInNewContext('typeof gc === "function" ? gc : undefined') as CollectGarbage | undefined
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}

function rssMb (): number {
  return Math.round(process.memoryUsage.rss() / 1048576 * 10) / 10
}

/**
 * releaseStartupMemory runs one memory-reducing ("last-resort") garbage collection, once start-up
 * is over: it frees start-up's garbage, shrinks the young generation back to its minimum, flushes
 * bytecode that ran only at start and returns the freed pages to the system (issue 13, idle RSS).
 * It pauses the process for tens of milliseconds, once; it changes no V8 setting, so request speed
 * is what it was (the young generation grows back to --max-semi-space-size under load).
 */
export function releaseStartupMemory (): StartupMemoryRelease {
  const rssBeforeMb = rssMb()
  const started = performance.now()
  const gc = collector()
  gc?.({ type: 'major', flavor: 'last-resort' })
  return { rssBeforeMb, rssAfterMb: rssMb(), ms: Math.round(performance.now() - started), collected: gc !== undefined }
}
