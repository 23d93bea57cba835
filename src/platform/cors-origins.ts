import fp from 'fastify-plugin'

/**
 * CorsOrigins is the browser origin allow-list every node holds in memory: the configured
 * CORS_ORIGINS plus the origins of the enabled registered frontends, which the frontends module
 * replaces whenever the registry changes on any node (pubsub) and on its periodic reload.
 */
export interface CorsOrigins {
  /** allows tells whether a request's Origin may read replies: an exact match, never `null` or a pattern. */
  allows: (origin: string | undefined) => boolean
  /** setRegistered replaces the registry's part of the list (the configured part never changes). */
  setRegistered: (origins: Iterable<string>) => void
  /**
   * loadWith names how the registry's part is first loaded (it must call setRegistered): the first
   * request waits for it, so a node never answers with only part of the list after a restart, while
   * a process that serves no request (`backplane openapi`) never touches the database.
   */
  loadWith: (load: () => Promise<void>) => void
  /** whenLoaded is undefined once the registry's part is in, else the first load in flight (never rejects). */
  whenLoaded: () => Promise<void> | undefined
  /** list returns the whole allow-list, configured origins first. */
  list: () => string[]
}

declare module 'fastify' {
  interface FastifyInstance {
    /** corsOrigins is the live CORS allow-list (HTTP CORS and the realtime handshake both ask it). */
    corsOrigins: CorsOrigins
  }
}

// While the registry cannot be read (database down), requests go on with the configured origins and
// a new attempt is made at most this often.
const RETRY_MS = 1000

/** createCorsOrigins builds the allow-list from the configured origins; the registered part starts empty. */
export function createCorsOrigins (configured: readonly string[]): CorsOrigins {
  const fixed = new Set(configured)
  let registered = new Set<string>()
  let loader: (() => Promise<void>) | undefined
  let loaded = false
  let loading: Promise<void> | undefined
  let lastAttempt = 0
  return {
    allows (origin) {
      // An opaque origin (sandboxed iframe, file://, some redirects) is never a frontend.
      if (origin === undefined || origin === 'null') return false
      return fixed.has(origin) || registered.has(origin)
    },
    setRegistered (origins) {
      // Swapped whole, so a request never sees a half-updated list.
      registered = new Set(origins)
      loaded = true
    },
    loadWith (load) { loader = load },
    whenLoaded () {
      if (loaded || loader === undefined) return undefined
      if (loading === undefined) {
        if (Date.now() - lastAttempt < RETRY_MS) return undefined
        lastAttempt = Date.now()
        loading = loader().catch(() => {}).finally(() => { loading = undefined })
      }
      return loading
    },
    list: () => [...new Set([...fixed, ...registered])]
  }
}

/** corsOrigins decorates `app.corsOrigins`; register it before the security plugin, whose CORS check consults it. */
export default fp(async function corsOrigins (app) {
  const origins = createCorsOrigins(app.config.cors.origins)
  app.decorate('corsOrigins', origins)
  // Ahead of the CORS check: only the first requests of a node wait, later ones test a flag.
  app.addHook('onRequest', (_request, _reply, done) => {
    const pending = origins.whenLoaded()
    if (pending === undefined) {
      done()
      return
    }
    pending.then(() => { done() }, () => { done() })
  })
}, { name: 'cors-origins' })
