import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhenResult, noJitterGenerator, type CircuitBreakerPolicy, type IBackoff, type IBackoffFactory, type IHalfOpenAfterBackoffContext } from 'cockatiel'
import type { AttemptResult } from '../../lib/outbound-post.ts'

/** EndpointBreakerSettings: failures in a row that open an endpoint's breaker, the first open period, and how many endpoints are tracked. */
export interface EndpointBreakerSettings {
  threshold: number
  /** cooldownMs is the first open period; each failed probe doubles it, up to MAX_OPEN_MS (or cooldownMs when larger). */
  cooldownMs: number
  /** maxTracked bounds the breakers kept in memory; the least recently used closed one is dropped first. */
  maxTracked: number
  onTransition?: (webhookId: string, state: 'open' | 'half-open' | 'closed') => void
}

/** Gate is an endpoint breaker's word on an attempt: go ahead, or come back in `deferMs` without spending an attempt. */
export type Gate = { allow: true } | { allow: false, deferMs: number }

/** MAX_OPEN_MS caps how long a failing endpoint's breaker stays open before the next probe. */
export const MAX_OPEN_MS = 10 * 60_000
/** IDLE_MS drops a closed breaker nobody used for this long (its endpoint was deleted or went quiet). */
const IDLE_MS = 60 * 60_000

// A receiver that is down: no answer, a connection error, a 5xx, or 429. A refused target
// (blocked), a 4xx about the payload and 410 Gone are answers of a receiver that is up.
const unavailable = (r: AttemptResult) => r.outcome === 'failure' && (r.statusCode === null || r.statusCode >= 500 || r.statusCode === 429)

interface Tracked {
  policy: CircuitBreakerPolicy
  /** openUntil is when the open breaker lets one probe through (0 when not open). */
  openUntil: number
  /** probeUntil marks a probe handed out and not yet finished (it expires, in case its attempt never ran). */
  probeUntil: number
  usedAt: number
  dispose: () => void
}

/**
 * createEndpointBreakers keeps one cockatiel circuit breaker per webhook endpoint on this node. An
 * endpoint that fails `threshold` attempts in a row is left alone for `cooldownMs` (doubling after
 * each failed probe): its due deliveries are deferred to when the next probe is allowed, without
 * spending one of their attempts, while other endpoints flow. At most `maxTracked` breakers live
 * in memory (open ones are kept first: dropping one would only cost a few attempts to reopen it).
 */
export function createEndpointBreakers (s: EndpointBreakerSettings) {
  const tracked = new Map<string, Tracked>()
  const maxOpenMs = Math.max(s.cooldownMs, MAX_OPEN_MS)
  const jitter = (ms: number) => Math.round(ms * (1 + Math.random() * 0.2))

  const evict = (now: number) => {
    for (const [id, b] of tracked) if (b.openUntil === 0 && b.policy.state === CircuitState.Closed && now - b.usedAt > IDLE_MS) drop(id)
    if (tracked.size < s.maxTracked) return
    // Map order is use order (each use re-inserts): the first closed entry is the least recently used.
    const victim = [...tracked].find(([, b]) => b.policy.state === CircuitState.Closed)?.[0] ?? tracked.keys().next().value
    if (victim !== undefined) drop(victim)
  }
  const drop = (id: string) => {
    tracked.get(id)?.dispose()
    tracked.delete(id)
  }

  const get = (webhookId: string): Tracked => {
    const now = Date.now()
    let b = tracked.get(webhookId)
    if (b) {
      tracked.delete(webhookId)
    } else {
      evict(now)
      b = create(webhookId)
    }
    b.usedAt = now
    tracked.set(webhookId, b)
    return b
  }

  const create = (webhookId: string): Tracked => {
    // The backoff's durations are read back, so a deferred delivery comes back when the probe is due.
    let lastOpenMs = s.cooldownMs
    const record = (backoff: IBackoff<IHalfOpenAfterBackoffContext>): IBackoff<IHalfOpenAfterBackoffContext> => {
      lastOpenMs = backoff.duration
      return { duration: backoff.duration, next: (context) => record(backoff.next(context)) }
    }
    const exponential = new ExponentialBackoff({ generator: noJitterGenerator, initialDelay: s.cooldownMs, maxDelay: maxOpenMs })
    const halfOpenAfter: IBackoffFactory<IHalfOpenAfterBackoffContext> = { next: () => record(exponential.next()) }
    const policy = circuitBreaker(handleWhenResult((r) => unavailable(r as AttemptResult)), { halfOpenAfter, breaker: new ConsecutiveBreaker(s.threshold) })
    const b: Tracked = { policy, openUntil: 0, probeUntil: 0, usedAt: Date.now(), dispose: () => {} }
    const listener = policy.onStateChange((state) => {
      b.openUntil = state === CircuitState.Open ? Date.now() + lastOpenMs : 0
      if (state !== CircuitState.HalfOpen) b.probeUntil = 0
      s.onTransition?.(webhookId, state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half-open' : 'open')
    })
    b.dispose = () => { listener.dispose() }
    return b
  }

  return {
    /**
     * gate says whether an attempt to this endpoint may start now. While the breaker is open the
     * answer is "come back when the next probe is due"; once it is due, one attempt (the probe) is
     * let through and the others wait for its verdict.
     */
    gate (webhookId: string, probeLeaseMs: number): Gate {
      const b = get(webhookId)
      const now = Date.now()
      if (b.policy.state === CircuitState.Closed) return { allow: true }
      if (b.policy.state === CircuitState.Open && now < b.openUntil) return { allow: false, deferMs: jitter(b.openUntil - now) }
      if (now < b.probeUntil) return { allow: false, deferMs: jitter(Math.min(s.cooldownMs, b.probeUntil - now)) }
      b.probeUntil = now + probeLeaseMs
      return { allow: true }
    },
    /**
     * send runs an attempt through the endpoint's breaker, which counts its result; `refused` when
     * the breaker opened (or another probe started) between the gate and the call.
     */
    async send (webhookId: string, attempt: () => Promise<AttemptResult>): Promise<AttemptResult | 'refused'> {
      const b = get(webhookId)
      try {
        const result = await b.policy.execute(attempt)
        b.probeUntil = 0
        return result
      } catch (err) {
        // Refused: another attempt holds the probe (its verdict clears the mark) or the breaker opened.
        if (err instanceof BrokenCircuitError) return 'refused'
        b.probeUntil = 0
        throw err
      }
    },
    /** retryInMs is how long a delivery refused by an open breaker waits: until its next probe is due. */
    retryInMs (webhookId: string): number {
      const b = tracked.get(webhookId)
      return jitter(Math.max(b ? b.openUntil - Date.now() : 0, Math.min(s.cooldownMs, 1000)))
    },
    /** counts gives how many tracked endpoint breakers are in each state (the metric reads it at scrape time). */
    counts (): { closed: number, open: number, halfOpen: number } {
      const out = { closed: 0, open: 0, halfOpen: 0 }
      for (const b of tracked.values()) {
        if (b.policy.state === CircuitState.Closed) out.closed++
        else if (b.policy.state === CircuitState.HalfOpen) out.halfOpen++
        else out.open++
      }
      return out
    }
  }
}

/** EndpointBreakers are the webhooks module's per-endpoint circuit breakers on this node. */
export type EndpointBreakers = ReturnType<typeof createEndpointBreakers>
