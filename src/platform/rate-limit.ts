import fp from 'fastify-plugin'
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { Actor } from './auth.ts'
import { defineErrors } from './errors.ts'
import { memoize } from '../lib/memo.ts'
import { ProblemSchema } from './problem-schema.ts'
import { createFallbackCounter, RateLimitStore, type SharedCounter, type WindowCount } from './adapters/rate-limit-store.ts'
import { brokerNames } from './namespace.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** rateLimitTier 'auth' puts a sign-in flow route in the strict per-IP budget (RATE_LIMIT_AUTH_PER_MINUTE). */
    rateLimitTier?: 'auth'
  }
}

/** rateLimitErrors is the one error a limit produces. */
export const rateLimitErrors = defineErrors({
  RATE_LIMITED: [429, 'Too many requests; retry after the Retry-After delay']
})

/** RateLimitTier names the budgets: per IP for sign-in flows and anonymous callers, per user, per API key. */
export type RateLimitTier = 'auth' | 'anonymous' | 'user' | 'api-key'

const WINDOW_MS = 60_000
// Keys start with their tier's tag, so the budget (and the audit) can be read back from the key.
const TAGS: Record<string, RateLimitTier> = { auth: 'auth', ip: 'anonymous', user: 'user', key: 'api-key' }
const EXEMPT_URLS = new Set(['/metrics', '/.well-known/jwks.json', '/openapi.json', '/docs'])

function tierOf (key: string): RateLimitTier {
  return TAGS[key.slice(0, key.indexOf(':'))] ?? 'anonymous'
}

/**
 * exempt says which requests skip the general limits: probes, metrics, the JWKS and the docs (they
 * must answer while clients are limited), routes with `config.rateLimit: false`, and routes that set
 * limits of their own (the plugin's per-route hook applies those). Unmatched URLs (404) are limited.
 */
function exempt ({ url, config }: FastifyRequest['routeOptions']): boolean {
  if (config.rateLimit === false || typeof config.rateLimit === 'object') return true
  if (url === undefined) return false
  return EXEMPT_URLS.has(url) || url.startsWith('/health/') || url.startsWith('/docs/')
}

// A connection's address repeats on every request it carries: normalizeIP runs Node's IPv6
// regular expression each time, so its answers are kept.
const normalizedIP = memoize((ip) => normalizeIP(ip))
function clientIP (request: FastifyRequest): string {
  return normalizedIP(request.ip ?? 'unknown')
}

function carriesCredentials (request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined
}

/**
 * rateLimit enforces per-minute budgets (SECURITY.md decisions 5 and 6; RC-05, RC-07, AU-11, CF-05):
 * sign-in flows (`config.rateLimitTier: 'auth'`) per client IP in a budget of their own; other
 * requests per API key, per signed-in user, or per client IP when there is no valid credential;
 * requests carrying a frontend's key count the same callers in that frontend's tier (FRONTEND_RATE_TIERS).
 * `request.ip` is the socket peer unless TRUST_PROXY names the proxy, so a forged X-Forwarded-For
 * cannot pick the bucket; IPv6 clients are counted by their /64, the smallest block one is given.
 * 429 replies are problem+json with Retry-After and RateLimit-* headers.
 *
 * Keying after authentication: the limit runs in one app-level `onRequest` hook, not after the
 * route's access check. After the check would be too late: the check (platform/auth.ts prepends it
 * to the route's preHandlers) rejects missing, junk and forbidden credentials before any later
 * hook runs, so those requests would never be counted; preHandlers also run after body parsing and
 * validation, and the 404 handler has no route hooks at all. So when a request carries a
 * credential, the key comes from resolving it here with `app.auth.check(request, 'authenticated')`
 * — the same schemes, signatures, session and key checks the route applies, never an unverified
 * token — and a credential that does not verify is limited per IP, like no credential. The
 * identity verified here is handed to the route's own check through a scheme registered ahead of
 * the modules' schemes (this plugin comes before the modules), which answers only for the request
 * it was verified for, so a credential is verified once per request, not twice.
 *
 * The counter is Redis when REDIS_URL is set (the primary's memory for the worker processes of one
 * machine without it), falling back to per-node memory while Redis fails
 * (never off), with a non-critical readiness check that reports the degradation.
 */
export default fp(async function rateLimit (app: FastifyInstance) {
  const { config } = app
  const budgets: Record<RateLimitTier, number> = {
    auth: config.rateLimit.authPerMinute,
    anonymous: config.rateLimit.anonymousPerMinute,
    user: config.rateLimit.userPerMinute,
    'api-key': config.rateLimit.apiKeyPerMinute
  }

  // The Redis adapter (and ioredis with it) is loaded only when REDIS_URL is set (idle RSS, issue 13).
  const redis = config.redis.url ? (await import('./adapters/redis-rate-limit.ts')).createRedisRateLimitCounter(config.redis.url, { keyPrefix: brokerNames(config.namespace).redis('backplane:rate-limit:') }) : undefined
  // Worker processes of one machine without Redis share one count kept by their primary.
  const siblings = app.siblings
  const shared: SharedCounter | undefined = redis ?? (siblings ? { incr: (key, windowMs) => siblings.ask<WindowCount>('rate-limit', { key, windowMs }) } : undefined)
  // With Redis, the fall-back to memory is the `redis-rate-limit` breaker (one failure, 2 s): readiness and the gauge show it.
  const counter = createFallbackCounter(shared, app.log, redis ? { breaker: app.breakers.create('redis-rate-limit', { counts: () => true, threshold: 1, halfOpenAfterMs: 2000 }) } : {})
  if (redis) {
    app.addReadinessCheck('rate-limit-store', redis.ping, { critical: false })
    app.addHook('onClose', async () => { redis.close() })
  }

  // Outcomes of the credential checks this hook made, by request object: nothing a client sends
  // can reach this map, and an entry answers only for its own request (and goes with it). A
  // refused credential is refused again with the same error, without being checked twice.
  const verified = new WeakMap<FastifyRequest, { actor: Actor } | { error: unknown }>()
  app.auth.addScheme({
    name: 'verified-this-request',
    authenticate: async (request) => {
      const outcome = verified.get(request)
      if (outcome && 'error' in outcome) throw outcome.error
      return outcome?.actor ?? null
    }
  })

  async function identify (request: FastifyRequest): Promise<Actor | null> {
    try {
      await app.auth.check(request, 'authenticated')
      if (request.actor) verified.set(request, { actor: request.actor })
      return request.actor
    } catch (error) {
      // Junk, expired or revoked credentials (or a dependency failing): the caller is anonymous to
      // the limiter; the route's own check answers 401 (or 503), and a 401 beats the IP's 429.
      verified.set(request, { error })
      return null
    } finally {
      // The route's access check sets the actor; public routes keep none, as without this plugin.
      request.actor = null
    }
  }

  /** keyFor is a request's bucket once its caller is known (null: no valid credential, counted per IP). */
  function keyFor (request: FastifyRequest, ip: string, actor: Actor | null): string {
    const caller = !actor ? `ip:${ip}` : actor.kind === 'api-key' ? `key:${actor.apiKeyId ?? actor.userId}` : `user:${actor.userId}`
    // A request carrying a frontend's key is counted per caller in that frontend's tier instead.
    const frontend = app.frontendContext.of(request)
    return frontend ? `fe:${frontend.rateTier}:${frontend.name}:${caller}` : caller
  }

  /** keyNow is the bucket of a request whose key needs no credential check; undefined when it needs one. */
  function keyNow (request: FastifyRequest, config = request.routeOptions.config): string | undefined {
    const ip = clientIP(request)
    if (config.rateLimitTier === 'auth') return `auth:${ip}`
    return carriesCredentials(request) ? undefined : keyFor(request, ip, null)
  }

  async function keyOf (request: FastifyRequest): Promise<string> {
    return keyNow(request) ?? keyFor(request, clientIP(request), await identify(request))
  }

  // Frontend keys read `fe:<tier>:<frontend>:<caller>`; a tier removed from the settings falls back to "default".
  function budgetOf (key: string): number {
    if (!key.startsWith('fe:')) return budgets[tierOf(key)]
    const tiers = config.frontends.rateTiers
    return tiers[key.slice(3, key.indexOf(':', 3))] ?? tiers.default!
  }

  const reported = recentKeys(WINDOW_MS)
  function onExceeded (request: FastifyRequest, key: string): void {
    // Once per key per window: a client hammering past its limit makes one record, not thousands.
    if (!reported.add(key)) return
    const tier = tierOf(key)
    request.log.warn(key.startsWith('fe:') ? { tier: `frontend:${key.split(':')[1]}` } : { tier }, 'rate limit exceeded')
    if (tier === 'auth') app.securityEvents.fromRequest(request, { action: 'rate_limit.exceeded', outcome: 'denied', details: { tier } })
  }

  await app.register(fastifyRateLimit, {
    // One app-level hook (below) covers every route and the 404 handler; `global` would add
    // route-level hooks only, which the 404 handler never gets.
    global: false,
    enableDraftSpec: true,
    timeWindow: WINDOW_MS,
    keyGenerator: keyOf,
    max: (_request, key) => budgetOf(key),
    store: class extends RateLimitStore { constructor () { super(counter) } },
    onExceeded,
    errorResponseBuilder: (_request, context) => rateLimitErrors.RATE_LIMITED(`Too many requests; retry in ${context.after}`)
  })
  /**
   * refusedCredential turns a 429 into the 401 of the credential the request carried, when that was
   * refused: a 429 tells a client to wait and retry, a revoked or invalid token needs a new sign-in
   * (a client whose address spent its anonymous budget would otherwise retry a dead token forever).
   * The request was still counted, and the credential was verified either way, so this costs nothing.
   */
  function refusedCredential (request: FastifyRequest, reply: FastifyReply, limited: Error): Error {
    const outcome = verified.get(request)
    const refused = outcome && 'error' in outcome && (outcome.error as { status?: number }).status === 401 ? outcome.error : undefined
    if (!(refused instanceof Error)) return limited
    reply.removeHeader('retry-after')
    reply.header('www-authenticate', 'Bearer realm="backplane"')
    return refused
  }

  /** answer sets the draft-spec RateLimit headers for a counted request, and returns the 429 once it is over its budget. */
  function answer (request: FastifyRequest, reply: FastifyReply, key: string, count: WindowCount): Error | undefined {
    const max = budgetOf(key)
    const reset = Math.max(1, Math.ceil(count.ttl / 1000))
    reply.header('ratelimit-limit', max)
    reply.header('ratelimit-reset', reset)
    if (count.current <= max) {
      reply.header('ratelimit-remaining', max - count.current)
      return undefined
    }
    onExceeded(request, key)
    reply.header('ratelimit-remaining', 0)
    reply.header('retry-after', reset)
    return rateLimitErrors.RATE_LIMITED(`Too many requests; retry in ${reset} s`)
  }

  // The app-wide limit is this one hook (the plugin above serves routes with limits of their own).
  // It answers synchronously when it can, which is most requests: a caller without credentials
  // while the count is in memory (one node, or Redis failing). A credential to verify or the
  // shared counter make it wait. An async hook on every request cost ~10 % of the throughput.
  app.addHook('onRequest', function limitRequest (request, reply, done) {
    // routeOptions is a getter that builds a new object: read it once.
    const route = request.routeOptions
    if (exempt(route)) return done()
    const key = keyNow(request, route.config)
    const counted = key === undefined ? undefined : counter.incrNow(key, WINDOW_MS)
    if (key !== undefined && counted !== undefined) return done(answer(request, reply, key, counted))
    ;(key === undefined ? keyOf(request) : Promise.resolve(key))
      .then(async (k) => answer(request, reply, k, await counter.incr(k, WINDOW_MS)))
      .then((err) => { done(err && refusedCredential(request, reply, err)) }, done)
  })

  // Every limited API route can answer 429: say so in its schema and the OpenAPI document.
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as { response?: Record<string, unknown> } | undefined
    if (!route.url.startsWith('/api/') || route.config?.rateLimit === false || !schema?.response || schema.response[429]) return
    schema.response = { ...schema.response, 429: ProblemSchema }
  })
}, { name: 'rate-limit', dependencies: ['auth', 'health', 'breakers', 'security-events', 'errors', 'frontend-context'] })

/** recentKeys remembers keys for a while, bounded, to report each trip once per window. */
function recentKeys (ttlMs: number, maxKeys = 10_000) {
  const until = new Map<string, number>()
  return {
    /** add returns true when the key was not seen within the last `ttlMs`. */
    add (key: string): boolean {
      const now = Date.now()
      if ((until.get(key) ?? 0) > now) return false
      if (until.size >= maxKeys) {
        for (const [k, t] of until) if (t <= now) until.delete(k)
        if (until.size >= maxKeys) until.delete(until.keys().next().value!)
      }
      until.set(key, now + ttlMs)
      return true
    }
  }
}
