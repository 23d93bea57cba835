import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'

/** FRONTEND_KEY_HEADER carries a frontend's key: a public client id, sent beside (not instead of) the user's credentials. */
export const FRONTEND_KEY_HEADER = 'x-frontend-key'

/** RequestFrontend is the registered frontend a request is attributed to, by the key it carries. */
export interface RequestFrontend {
  id: string
  name: string
  /** rateTier names the per-minute budget (FRONTEND_RATE_TIERS) the frontend's callers get. */
  rateTier: string
}

/** FrontendResolver is what the frontends module plugs in: the registry's answers about one request. */
export interface FrontendResolver {
  /** identify returns the frontend named by the request's frontend key; it throws 401 for a bad key and 403 for an Origin the frontend does not own. */
  identify: (request: FastifyRequest) => Promise<RequestFrontend>
  /** audiences lists the frontend `aud` values an access token sent with this request may carry (SECURITY.md AZ-08). */
  audiences: (request: FastifyRequest) => string[]
}

/** FrontendContext attributes requests to frontends for the platform (rate limits, logs, metrics, audit) and the auth module. */
export interface FrontendContext {
  /** setResolver plugs in the registry; until then no request carries a frontend. */
  setResolver: (resolver: FrontendResolver) => void
  /** of returns the frontend a request was attributed to, or null. */
  of: (request: FastifyRequest) => RequestFrontend | null
  /** audiences lists the frontend token audiences acceptable for a request (none without a registry). */
  audiences: (request: FastifyRequest) => string[]
}

declare module 'fastify' {
  interface FastifyRequest {
    /** frontend is the name of the registered frontend whose key the request carries, or null. */
    frontend: string | null
  }
  interface FastifyInstance {
    frontendContext: FrontendContext
  }
}

/** frontendAudience is the `aud` of an access token issued through a frontend. */
export function frontendAudience (name: string): string {
  return `frontend:${name}`
}

/** frontendOfAudience is the inverse: the frontend a token's audience names, or undefined for the default audience. */
export function frontendOfAudience (audience: string): string | undefined {
  return audience.startsWith('frontend:') ? audience.slice('frontend:'.length) : undefined
}

/**
 * frontendContext resolves the frontend key of every request in one app-level onRequest hook. It is
 * registered ahead of the rate limiter (which budgets by the frontend's tier) and the access checks
 * (which compare a token's audience with the frontend), so both see the attribution.
 */
export default fp(async function frontendContext (app) {
  const attributed = new WeakMap<FastifyRequest, RequestFrontend>()
  let resolver: FrontendResolver | undefined
  app.decorateRequest('frontend', null)
  app.decorate('frontendContext', {
    setResolver: (r: FrontendResolver) => { resolver = r },
    of: (request: FastifyRequest) => attributed.get(request) ?? null,
    audiences: (request: FastifyRequest) => resolver?.audiences(request) ?? []
  })
  // Synchronous for the requests that carry no frontend key (an async hook costs every request a
  // promise and a microtask turn); the key check itself is asynchronous.
  app.addHook('onRequest', function attributeFrontend (request, _reply, done) {
    if (resolver === undefined || request.headers[FRONTEND_KEY_HEADER] === undefined) return done()
    resolver.identify(request).then((frontend) => {
      attributed.set(request, frontend)
      request.frontend = frontend.name
      done()
    }, done)
  })
}, { name: 'frontend-context', dependencies: ['errors'] })
