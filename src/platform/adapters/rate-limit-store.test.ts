import { describe, expect, it } from 'vitest'
import type { FastifyBaseLogger } from 'fastify'
import { createFallbackCounter, MemoryCounter, RateLimitStore, type SharedCounter, type WindowCount } from './rate-limit-store.ts'

function fakeLog () {
  const lines: Array<{ level: string, msg: string, obj?: unknown }> = []
  const at = (level: string) => (obj: unknown, msg?: string) => {
    lines.push(typeof obj === 'string' ? { level, msg: obj } : { level, msg: msg ?? '', obj })
  }
  return { log: { warn: at('warn'), info: at('info') } as unknown as FastifyBaseLogger, lines }
}

/** fakeShared is a shared counter whose health the test switches: up, down (errors) or frozen (never answers). */
function fakeShared () {
  const counts = new Map<string, number>()
  const state = { mode: 'up' as 'up' | 'down' | 'frozen', calls: 0 }
  const counter: SharedCounter = {
    async incr (key, windowMs): Promise<WindowCount> {
      state.calls++
      if (state.mode === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:6379')
      if (state.mode === 'frozen') return new Promise(() => {})
      const current = (counts.get(key) ?? 0) + 1
      counts.set(key, current)
      return { current, ttl: windowMs }
    }
  }
  return { counter, state, counts }
}

describe('MemoryCounter', () => {
  it('counts in fixed windows and starts again when a window ends', () => {
    let now = 1_000
    const memory = new MemoryCounter(100, () => now)
    expect(memory.incr('a', 60_000)).toEqual({ current: 1, ttl: 60_000 })
    now += 10_000
    expect(memory.incr('a', 60_000)).toEqual({ current: 2, ttl: 50_000 })
    expect(memory.incr('b', 60_000)).toEqual({ current: 1, ttl: 60_000 })
    now += 50_000
    expect(memory.incr('a', 60_000)).toEqual({ current: 1, ttl: 60_000 })
  })

  it('holds a bounded number of keys, dropping expired windows first', () => {
    let now = 0
    const memory = new MemoryCounter(100, () => now)
    for (let i = 0; i < 100; i++) memory.incr(`old-${i}`, 1_000)
    now = 5_000
    memory.incr('live', 60_000)
    expect(memory.size).toBe(1)
    for (let i = 0; i < 10_000; i++) memory.incr(`flood-${i}`, 60_000)
    expect(memory.size).toBeLessThanOrEqual(100)
  })
})

describe('createFallbackCounter (decision 6)', () => {
  it('counts through the shared counter while it answers', async () => {
    const { counter, counts } = fakeShared()
    const { log } = fakeLog()
    const fallback = createFallbackCounter(counter, log)
    counts.set('k', 41)
    expect(await fallback.incr('k', 60_000)).toEqual({ current: 42, ttl: 60_000 })
    expect(fallback.degraded).toBe(false)
  })

  it('falls back to per-node memory on errors, warns at most once per 30 s, and returns to the shared counter', async () => {
    let now = 0
    const { counter, state } = fakeShared()
    const { log, lines } = fakeLog()
    const fallback = createFallbackCounter(counter, log, { now: () => now, retryAfterMs: 2_000 })
    await fallback.incr('k', 60_000)
    await fallback.incr('k', 60_000)
    state.mode = 'down'
    // Memory already counted this node's two hits, so the budget carries over into the outage.
    expect(await fallback.incr('k', 60_000)).toMatchObject({ current: 3 })
    expect(fallback.degraded).toBe(true)
    const callsAtFailure = state.calls
    // Within the retry period the shared counter is not asked at all.
    for (let i = 0; i < 5; i++) await fallback.incr('k', 60_000)
    expect(state.calls).toBe(callsAtFailure)
    expect((await fallback.incr('k', 60_000)).current).toBe(9)
    for (let t = 2_000; t < 40_000; t += 2_000) {
      now = t
      await fallback.incr('other', 60_000)
    }
    const warnings = lines.filter((l) => l.level === 'warn')
    expect(warnings).toHaveLength(2)
    expect(warnings[0]!.msg).toMatch(/limits are counted per node/)
    expect(JSON.stringify(warnings[0]!.obj)).toContain('ECONNREFUSED')

    state.mode = 'up'
    now += 2_000
    expect(await fallback.incr('k', 60_000)).toEqual({ current: 3, ttl: 60_000 })
    expect(fallback.degraded).toBe(false)
    expect(lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['rate-limit store answers again: limits are shared across nodes'])
  })

  it('bounds the wait on a shared counter that never answers', async () => {
    const { counter, state } = fakeShared()
    const { log } = fakeLog()
    const fallback = createFallbackCounter(counter, log, { timeoutMs: 50 })
    state.mode = 'frozen'
    const started = performance.now()
    expect(await fallback.incr('k', 60_000)).toMatchObject({ current: 1 })
    expect(performance.now() - started).toBeLessThan(1_000)
    // The next calls go straight to memory: only one request per retry period waits.
    const again = performance.now()
    for (let i = 0; i < 10; i++) await fallback.incr('k', 60_000)
    expect(performance.now() - again).toBeLessThan(500)
    expect(state.calls).toBe(1)
  })

  it('counts in memory alone without a shared counter', async () => {
    const { log, lines } = fakeLog()
    const fallback = createFallbackCounter(undefined, log)
    expect(await fallback.incr('k', 60_000)).toMatchObject({ current: 1 })
    expect(await fallback.incr('k', 60_000)).toMatchObject({ current: 2 })
    expect(fallback.degraded).toBe(false)
    expect(lines).toEqual([])
  })
})

describe('RateLimitStore', () => {
  it('implements the plugin store contract, and a route with its own limits counts apart', async () => {
    const { log } = fakeLog()
    const store = new RateLimitStore(createFallbackCounter(undefined, log))
    const incr = (s: RateLimitStore, key: string) => new Promise<WindowCount | undefined>((resolve, reject) => {
      s.incr(key, (err, result) => { if (err) reject(err); else resolve(result) }, 60_000)
    })
    expect(await incr(store, 'ip:1')).toMatchObject({ current: 1 })
    expect(await incr(store, 'ip:1')).toMatchObject({ current: 2 })
    const child = store.child({ routeInfo: { method: 'POST', url: '/api/v1/things' } })
    expect(await incr(child, 'ip:1')).toMatchObject({ current: 1 })
  })
})
