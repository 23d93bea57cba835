import { watch, type FSWatcher } from 'node:fs'
import { resolve } from 'node:path'
import { detectFrontends } from '../../tooling/frontends/detect.ts'
import type { DetectionResult } from '../../tooling/frontends/types.ts'
import type { SyncEntry } from './sync.ts'

/** MAX_WATCHED_DIRS bounds the folders watched (inotify watches are a per-user budget); past it, a poll takes over. */
export const MAX_WATCHED_DIRS = 2000
const POLL_MS = 5000

/** WatchOptions say what to watch and what to do with each detection. */
export interface WatchOptions {
  dir: string
  maxDepth?: number
  /** debounceMs waits for a burst of file events (a save, a git checkout, a folder move) to settle. */
  debounceMs?: number
  /** sync records a detection in the registry (`app.frontends.sync`). */
  sync: (detection: DetectionResult) => Promise<SyncEntry[]>
  onSynced: (entries: SyncEntry[], detection: DetectionResult) => void
  onError: (err: unknown) => void
  /** persistent false lets the process exit while watching (a server watching beside its own lifetime). */
  persistent?: boolean
}

/** FrontendsWatcher is a running watch; `ready` settles after the first sync. */
export interface FrontendsWatcher {
  ready: Promise<void>
  close: () => void
}

/**
 * watchFrontends syncs a workspace now and again whenever frontends may have been added, removed or
 * moved. It watches exactly the folders a detection walks (not node_modules or build output, which a
 * recursive watch would cover too), each without recursion, and re-watches after every scan so new
 * folders are followed. Events are debounced; a change during a sync runs one more sync after it.
 */
export function watchFrontends (options: WatchOptions): FrontendsWatcher {
  const root = resolve(options.dir)
  const debounceMs = options.debounceMs ?? 500
  const persistent = options.persistent ?? true
  const watchers = new Map<string, FSWatcher>()
  let timer: NodeJS.Timeout | undefined
  let poll: NodeJS.Timeout | undefined
  let running = false
  let again = false
  let closed = false

  function schedule (): void {
    if (closed) return
    clearTimeout(timer)
    timer = setTimeout(() => { run().catch(options.onError) }, debounceMs)
    if (!persistent) timer.unref()
  }

  function pollInstead (): void {
    if (poll !== undefined) return
    poll = setInterval(schedule, POLL_MS)
    if (!persistent) poll.unref()
  }

  function follow (dirs: Set<string>): void {
    for (const [dir, watcher] of watchers) {
      if (dirs.has(dir)) continue
      watcher.close()
      watchers.delete(dir)
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue
      if (watchers.size >= MAX_WATCHED_DIRS) return pollInstead()
      try {
        const watcher = watch(dir, { persistent }, schedule)
        // A watched folder that is deleted or moved errors on some platforms: the next scan drops it.
        watcher.on('error', () => { watcher.close(); watchers.delete(dir); schedule() })
        watchers.set(dir, watcher)
      } catch {
        // Out of watches (ENOSPC, EMFILE) or a folder gone since the scan: poll rather than miss changes.
        pollInstead()
      }
    }
  }

  async function run (): Promise<void> {
    if (closed) return
    if (running) {
      again = true
      return
    }
    running = true
    try {
      const walked = new Set<string>()
      const detection = await detectFrontends(root, { maxDepth: options.maxDepth, onProgress: (_n, rel) => { walked.add(resolve(root, rel)) } })
      if (closed) return
      follow(walked)
      options.onSynced(await options.sync(detection), detection)
    } catch (err) {
      options.onError(err)
    } finally {
      running = false
      if (again) {
        again = false
        schedule()
      }
    }
  }

  return {
    ready: run(),
    close () {
      closed = true
      clearTimeout(timer)
      clearInterval(poll)
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
    }
  }
}
