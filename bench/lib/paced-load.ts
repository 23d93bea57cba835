import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

/** PacedResult is what an evenly paced, open-loop run measured. */
export interface PacedResult {
  /** sent is how many measured requests were due and sent; ok how many got a 2xx, non2xx the other replies. */
  sent: number
  ok: number
  non2xx: number
  errors: number
  /** reqPerSec is the replies a second over the run. */
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** percentile is the value under which `p` (0..1) of the sorted sample lies (nearest rank). */
function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

/**
 * pacedLoad sends `rate` requests a second for `seconds`, each at its own instant (request i is due
 * at i / rate s), on at most `connections` keep-alive connections, without waiting for replies
 * (open loop). A request's latency runs from the instant it was due, not from when it was sent, so
 * a request that had to wait for a free connection or for a late generator counts that wait (no
 * coordinated omission).
 *
 * autocannon's `overallRate` is not this: each connection sends its share of a second's requests
 * back to back when the second starts and then idles, so a run "at half the peak" is a burst at the
 * full peak every second, and its p99 is the queue of that burst.
 */
export async function pacedLoad (url: string, options: { rate: number, seconds: number, connections: number, headers: Record<string, string>, warmupSeconds?: number }): Promise<PacedResult> {
  const target = new URL(url)
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections })
  // The first second (by default) opens the connections and warms the server's caches: paced like the
  // rest, not counted.
  const warmup = Math.round(options.rate * (options.warmupSeconds ?? 1))
  const total = warmup + Math.round(options.rate * options.seconds)
  const latencies: number[] = []
  let ok = 0
  let non2xx = 0
  let errors = 0
  let sent = 0
  let pending = 0
  let drained: (() => void) | undefined
  const intervalMs = 1000 / options.rate
  const start = performance.now()

  let measuredFrom = 0
  const send = (index: number, dueAt: number) => {
    pending++
    const done = (status: number | undefined) => {
      if (index < warmup) {
        if (--pending === 0) drained?.()
        return
      }
      latencies.push(performance.now() - dueAt)
      if (status === undefined) errors++
      else if (status >= 200 && status < 300) ok++
      else non2xx++
      if (--pending === 0) drained?.()
    }
    const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search, headers: options.headers }, (res) => {
      res.resume()
      res.on('end', () => { done(res.statusCode) })
      res.on('error', () => { done(undefined) })
    })
    req.setTimeout(30_000, () => { req.destroy(new Error('timeout')) })
    req.on('error', () => { done(undefined) })
    req.end()
  }

  while (sent < total) {
    const now = performance.now()
    // Every request due by now goes out now, each with its own due time (a late tick sends the backlog).
    while (sent < total && start + sent * intervalMs <= now) {
      if (sent === warmup) measuredFrom = performance.now()
      send(sent, start + sent * intervalMs)
      sent++
    }
    const next = start + sent * intervalMs
    const wait = next - performance.now()
    // Timers fire at best each millisecond: sleep when the next request is at least that far, else yield.
    if (wait >= 1) await sleep(Math.floor(wait))
    else await new Promise<void>((resolve) => setImmediate(resolve))
  }
  if (pending > 0) await new Promise<void>((resolve) => { drained = resolve })
  const elapsed = (performance.now() - measuredFrom) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const round = (ms: number) => Math.round(ms * 100) / 100
  return {
    sent: sent - warmup,
    ok,
    non2xx,
    errors,
    reqPerSec: Math.round((ok + non2xx) / elapsed),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(latencies.at(-1) ?? 0)
  }
}
