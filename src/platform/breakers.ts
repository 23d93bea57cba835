import fp from 'fastify-plugin'
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel'
import { Gauge } from 'prom-client'

/** BreakerState is a breaker's state as readiness and the log name it. */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** BreakerOptions tune one breaker: which failures count, after how many in a row it opens, and when it tries again. */
export interface BreakerOptions {
  /** counts says whether an error means the dependency is unavailable (a refused row or a bad request is no reason to open). */
  counts: (err: unknown) => boolean
  /** consecutive failures that open the breaker (default 5). */
  threshold?: number
  /** halfOpenAfterMs is how long an open breaker refuses every call before letting one probe through (default 1000). */
  halfOpenAfterMs?: number
}

/** Breaker guards one dependency: `execute` runs a call unless the breaker is open, when it throws `BrokenCircuitError` at once. */
export interface Breaker {
  readonly name: string
  readonly policy: CircuitBreakerPolicy
  execute: <T>(fn: () => Promise<T>) => Promise<T>
  state: () => BreakerState
  /** refusing is true while the breaker is open and no probe is due yet (cheap pre-check before costly work). */
  refusing: () => boolean
}

/** Breakers is the registry of this node's circuit breakers, one per dependency (database, redis, amqp, smtp, webhook endpoints…). */
export interface Breakers {
  /** create makes (or returns the existing) breaker named `dependency`. */
  create: (dependency: string, options: BreakerOptions) => Breaker
  /** open lists the breakers that are not closed, by name. */
  notClosed: () => Record<string, BreakerState>
  /** remove forgets a breaker (a deleted webhook endpoint) and its gauge series. */
  remove: (dependency: string) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** breakers holds one circuit breaker per dependency; readiness and `/metrics` report their states. */
    breakers: Breakers
  }
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open'
}
// The gauge's values: 0 closed, 1 half-open, 2 open (higher is worse, so alerts can use `> 0`).
const GAUGE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 }

/**
 * breakers decorates `app.breakers`. Every state change of every breaker is one log line (warn when
 * it opens, info otherwise) and moves `backplane_breaker_state{dependency}` (0 closed, 1 half-open,
 * 2 open); `/health/ready` lists the breakers that are not closed.
 */
export default fp(async function breakers (app) {
  const log = app.log.child({ module: 'breakers' })
  const gauge = new Gauge({
    name: 'backplane_breaker_state',
    help: 'Circuit breaker state per dependency: 0 closed, 1 half-open (probing), 2 open (calls refused at once)',
    labelNames: ['dependency'] as const,
    registers: [app.metrics]
  })
  const all = new Map<string, Breaker & { dispose: () => void }>()

  const registry: Breakers = {
    create (dependency, options) {
      const existing = all.get(dependency)
      if (existing) return existing
      const policy = circuitBreaker(handleWhen(options.counts), {
        halfOpenAfter: options.halfOpenAfterMs ?? 1000,
        breaker: new ConsecutiveBreaker(options.threshold ?? 5)
      })
      gauge.set({ dependency }, 0)
      const halfOpenAfterMs = options.halfOpenAfterMs ?? 1000
      let openedAt = 0
      const listener = policy.onStateChange((next) => {
        const state = STATES[next]
        if (state === 'open') openedAt = Date.now()
        gauge.set({ dependency }, GAUGE[state])
        if (state === 'open') log.warn({ dependency, breaker: state }, `circuit breaker for ${dependency} opened: calls are refused until a probe succeeds`)
        else log.info({ dependency, breaker: state }, `circuit breaker for ${dependency} is ${state}`)
      })
      const breaker = {
        name: dependency,
        policy,
        execute: <T>(fn: () => Promise<T>) => policy.execute(fn),
        state: () => STATES[policy.state],
        // cockatiel moves to half-open only when a call arrives after halfOpenAfter: until then, refuse.
        refusing: () => policy.state === CircuitState.Open && Date.now() - openedAt < halfOpenAfterMs,
        dispose: () => { listener.dispose() }
      }
      all.set(dependency, breaker)
      return breaker
    },
    notClosed () {
      const out: Record<string, BreakerState> = {}
      for (const [name, b] of all) if (b.state() !== 'closed') out[name] = b.state()
      return out
    },
    remove (dependency) {
      all.get(dependency)?.dispose()
      all.delete(dependency)
      gauge.remove({ dependency })
    }
  }
  app.decorate('breakers', registry)
}, { name: 'breakers', dependencies: ['metrics'] })
