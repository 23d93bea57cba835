import type { FastifyBaseLogger } from 'fastify'
import { isBrokenCircuitError } from 'cockatiel'
import type { Breaker } from '../breakers.ts'

/** WindowCount is a key's hits in its current window and the milliseconds until that window ends. */
export interface WindowCount { current: number, ttl: number }

/** SharedCounter counts hits for every node at once (the Redis adapter). */
export interface SharedCounter {
  incr: (key: string, windowMs: number) => Promise<WindowCount>
}

/**
 * MemoryCounter keeps fixed-window counts for one node. It holds at most `maxKeys` keys, so a
 * flood of distinct clients costs bounded memory: expired windows go first, then the oldest keys.
 */
export class MemoryCounter {
  readonly #windows = new Map<string, { count: number, resetAt: number }>()
  readonly #maxKeys: number
  readonly #now: () => number

  constructor (maxKeys = 100_000, now: () => number = Date.now) {
    this.#maxKeys = maxKeys
    this.#now = now
  }

  /** incr counts one hit for the key and returns its window. */
  incr (key: string, windowMs: number): WindowCount {
    const now = this.#now()
    let window = this.#windows.get(key)
    if (!window || window.resetAt <= now) {
      if (!window) this.#makeRoom(now)
      window = { count: 0, resetAt: now + windowMs }
      this.#windows.set(key, window)
    }
    window.count++
    return { current: window.count, ttl: window.resetAt - now }
  }

  /** size is the number of keys held. */
  get size (): number { return this.#windows.size }

  #makeRoom (now: number): void {
    if (this.#windows.size < this.#maxKeys) return
    for (const [key, w] of this.#windows) if (w.resetAt <= now) this.#windows.delete(key)
    // Still full of live windows: drop the oldest 1 % at once, so the sweep above stays rare.
    let drop = this.#windows.size - this.#maxKeys + Math.ceil(this.#maxKeys / 100)
    for (const key of this.#windows.keys()) {
      if (drop-- <= 0) break
      this.#windows.delete(key)
    }
  }
}

/** FallbackOptions tunes how the store leaves and returns to the shared counter. */
export interface FallbackOptions {
  /** timeoutMs bounds one shared-counter call; past it the call is counted in memory. */
  timeoutMs?: number
  /** retryAfterMs is how long the store stays on memory after a failure before trying the shared counter again. */
  retryAfterMs?: number
  /** warnEveryMs spaces the "limits are per node" warnings. */
  warnEveryMs?: number
  now?: () => number
  /**
   * breaker, when given, decides instead of `retryAfterMs` when the shared counter is asked again
   * (the app passes its `redis-rate-limit` breaker, so readiness and the gauge show the fall-back).
   */
  breaker?: Pick<Breaker, 'execute' | 'refusing'>
}

/** FallbackCounter is the counting core: shared when it can be, per-node memory when it cannot. */
export interface FallbackCounter {
  incr: (key: string, windowMs: number) => Promise<WindowCount>
  /**
   * incrNow counts synchronously when the count is kept in memory (no shared counter, or it failed
   * within the retry period) and returns the window; otherwise it counts nothing and returns
   * undefined, and the caller uses `incr`.
   */
  incrNow: (key: string, windowMs: number) => WindowCount | undefined
  /** degraded is true while counts come from memory because the shared counter failed. */
  readonly degraded: boolean
}

/**
 * createFallbackCounter counts through the shared counter and, when it errs or is slower than
 * `timeoutMs`, through per-node memory for that call (SECURITY.md decision 6: limits never turn
 * off). After a failure it stays on memory for `retryAfterMs`, so a frozen Redis slows at most one
 * request per retry period, then tries again by itself. Memory counts every hit even while the
 * shared counter works, so a node that falls back keeps the budget its clients already used.
 */
export function createFallbackCounter (shared: SharedCounter | undefined, log: FastifyBaseLogger, options: FallbackOptions = {}): FallbackCounter {
  const { timeoutMs = 1000, retryAfterMs = 2000, warnEveryMs = 30_000, now = Date.now } = options
  const memory = new MemoryCounter(100_000, now)
  let retryAt = 0
  // Without a breaker the store keeps its own: one failure, then memory for retryAfterMs.
  const breaker = options.breaker ?? {
    refusing: () => now() < retryAt,
    execute: async <T>(fn: () => Promise<T>): Promise<T> => {
      try { return await fn() } catch (err) { retryAt = now() + retryAfterMs; throw err }
    }
  }
  let lastWarn = -Infinity
  let degraded = false

  async function viaShared (counter: SharedCounter, key: string, windowMs: number): Promise<WindowCount> {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        counter.incr(key, windowMs),
        new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs) })
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    get degraded () { return degraded },
    incrNow (key, windowMs) {
      return !shared || breaker.refusing() ? memory.incr(key, windowMs) : undefined
    },
    async incr (key, windowMs) {
      const local = memory.incr(key, windowMs)
      if (!shared || breaker.refusing()) return local
      try {
        const counted = await breaker.execute(() => viaShared(shared, key, windowMs))
        if (degraded) {
          degraded = false
          log.info('rate-limit store answers again: limits are shared across nodes')
        }
        return counted
      } catch (err) {
        // A half-open breaker refuses the calls beside its probe: memory counts them, nothing failed.
        if (isBrokenCircuitError(err)) return local
        degraded = true
        if (now() - lastWarn >= warnEveryMs) {
          lastWarn = now()
          log.warn({ err: { message: (err as Error).message } }, 'rate-limit store unavailable: limits are counted per node until it answers')
        }
        return local
      }
    }
  }
}

/** RouteLimitOptions is the part of a route's limit options a child store reads. */
interface RouteLimitOptions { routeInfo?: { method?: unknown, url?: string } }

/**
 * RateLimitStore implements the `@fastify/rate-limit` store interface over a FallbackCounter.
 * A route with limits of its own gets a child store whose keys carry the route, as the plugin's
 * own stores do.
 */
export class RateLimitStore {
  readonly #counter: FallbackCounter
  readonly #prefix: string

  constructor (counter: FallbackCounter, prefix = '') {
    this.#counter = counter
    this.#prefix = prefix
  }

  /** incr counts one hit and calls back with the window, the plugin's store contract. */
  incr (key: string, callback: (error: Error | null, result?: WindowCount) => void, timeWindow: number): void {
    this.#counter.incr(this.#prefix + key, timeWindow).then((result) => { callback(null, result) }, (err: Error) => { callback(err) })
  }

  /** child returns the store of a route that sets its own limits (the plugin passes the route's merged limit options). */
  child (options: object): RateLimitStore {
    const route = (options as RouteLimitOptions).routeInfo
    return new RateLimitStore(this.#counter, `${this.#prefix}${String(route?.method ?? '')}${route?.url ?? ''}:`)
  }
}
