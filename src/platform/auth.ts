import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RouteOptions, onRequestAsyncHookHandler } from 'fastify'
import { defineErrors } from './errors.ts'

/** Actor is who a request acts as: a signed-in user (through a session) or an API key. */
export interface Actor {
  kind: 'user' | 'api-key'
  userId: string
  sessionId?: string
  apiKeyId?: string
  /** agentId is set when the API key is an agent's credential (the actor then holds the agent role only). */
  agentId?: string
  roles: readonly string[]
  permissions: ReadonlySet<string>
  /** frontend is the registered frontend the credentials were issued to, when there is one. */
  frontend?: string
  /** authTime is when the user last authenticated in this session (epoch seconds, the token's auth_time): step-up checks read it. */
  authTime?: number
}

/**
 * Access is what a route declares: `public`; `user` (a signed-in user, whatever the role: self-service
 * routes, never an API key); `authenticated` (a user or an API key); or a `resource:action` permission.
 */
export type Access = 'public' | 'user' | 'authenticated' | `${string}:${string}`

/** AuthScheme turns one kind of credential into an Actor; it returns null when its header is absent. */
export interface AuthScheme {
  name: string
  authenticate: (request: FastifyRequest) => Promise<Actor | null>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** actor is set by the access check of routes that are not public. */
    actor: Actor | null
  }
  interface FastifyInstance {
    auth: {
      /** addScheme registers a credential scheme (bearer tokens, API keys). */
      addScheme: (scheme: AuthScheme) => void
      /** check resolves the request's actor and enforces an access level; throws 401/403. */
      check: (request: FastifyRequest, access: Access) => Promise<void>
    }
  }
  interface FastifyContextConfig {
    /** access is required on every /api/ route; the auth plugin enforces it. */
    access?: Access
  }
}

/**
 * queryField reads one query-string field of any request (hooks and credential schemes run before,
 * or without, a route's own typed query); undefined when absent.
 */
export function queryField (request: FastifyRequest, name: string): unknown {
  const query: unknown = request.query
  return typeof query === 'object' && query !== null && Object.hasOwn(query, name) ? Reflect.get(query, name) : undefined
}

/**
 * actorOf is the caller of a route that declares an access level other than `public`: the access
 * check ran before the handler and set it, so routes read it typed and non-null from here.
 */
export function actorOf (request: FastifyRequest): Actor {
  if (!request.actor) throw authErrors.AUTH_REQUIRED()
  return request.actor
}

/** authErrors are the access errors: the same body for every bad credential, whatever was wrong with it. */
export const authErrors = defineErrors({
  AUTH_REQUIRED: [401, 'Authentication is required'],
  AUTH_INVALID: [401, 'The credentials are invalid or expired'],
  AUTH_CREDENTIALS_IN_URL: [401, 'Credentials are not accepted in the URL; send them in the Authorization or X-API-Key header'],
  FORBIDDEN: [403, 'You do not have permission to do this'],
  USER_SESSION_REQUIRED: [403, 'This route needs a signed-in user, not an API key']
})

const URL_CREDENTIALS = ['access_token', 'api_key', 'apikey', 'apiKey', 'key', 'token', 'jwt', 'bearer']

function wwwAuthenticate (reply: FastifyReply): void {
  reply.header('www-authenticate', 'Bearer realm="backplane"')
}

/**
 * auth enforces the access every /api/ route must declare in `config.access` (a route without one
 * stops start-up), resolving credentials through the registered schemes.
 */
export default fp(async function auth (app) {
  const schemes: AuthScheme[] = []

  async function resolveActor (request: FastifyRequest): Promise<Actor | null> {
    for (const scheme of schemes) {
      const actor = await scheme.authenticate(request)
      if (actor) return actor
    }
    return null
  }

  async function check (request: FastifyRequest, access: Access): Promise<void> {
    if (access === 'public') return
    const query: unknown = request.query
    if (typeof query === 'object' && query !== null && URL_CREDENTIALS.some((k) => k in query)) throw authErrors.AUTH_CREDENTIALS_IN_URL()
    const actor = await resolveActor(request)
    if (!actor) throw authErrors.AUTH_REQUIRED()
    request.actor = actor
    if (access === 'authenticated') return
    if (access === 'user') {
      if (actor.kind !== 'user') throw authErrors.USER_SESSION_REQUIRED()
      return
    }
    if (!actor.permissions.has(access)) {
      app.securityEvents.fromRequest(request, { action: 'access.denied', outcome: 'denied', details: { permission: access, route: request.routeOptions.url } })
      throw authErrors.FORBIDDEN()
    }
  }

  app.decorateRequest('actor', null)
  app.decorate('auth', { addScheme: (scheme: AuthScheme) => { schemes.push(scheme) }, check })

  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith('/api/')) return
    const access = route.config?.access
    if (!access) throw new Error(`${String(route.method)} ${route.url} must declare config.access ('public', 'user', 'authenticated' or a permission)`)
    if (access !== 'public' && access !== 'user' && access !== 'authenticated' && !/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/.test(access)) {
      throw new Error(`${String(route.method)} ${route.url}: config.access "${access}" is not an access level or a resource:action permission`)
    }
    if (access === 'public') return
    const guard: onRequestAsyncHookHandler = async function guard (request, reply) {
      try {
        await check(request, access)
      } catch (err) {
        if ((err as { status?: number }).status === 401) wwwAuthenticate(reply)
        throw err
      }
    }
    // The check runs first among the route's own hooks, in onRequest: before the body is read and
    // validated. As a preHandler it ran after validation, so an anonymous caller (or a user on an
    // admin route) sending an invalid body got a 400 describing the schema instead of 401/403, and
    // every unauthenticated body was parsed. App-level onRequest hooks (the rate limit) still run before it.
    const existing = route.onRequest
    route.onRequest = existing ? [guard, ...(Array.isArray(existing) ? existing : [existing])] : [guard]
    // The OpenAPI document tells clients which credentials the route takes.
    if (route.schema && !(route.schema as { security?: unknown }).security) {
      const schemes = access === 'user' ? [{ bearerAuth: [] }] : [{ bearerAuth: [] }, { apiKeyAuth: [] }]
      ;(route.schema as { security?: unknown }).security = schemes
    }
  })

  // Permissions named by routes must exist, so a typo cannot lock everyone out (or in).
  app.addHook('onReady', async () => {
    for (const perm of declared) {
      if (!app.rbac.isPermission(perm)) throw new Error(`a route requires undeclared permission ${perm}; declare it with app.rbac.define`)
    }
  })
  const declared = new Set<string>()
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.access
    if (access && access.includes(':')) declared.add(access)
  })
}, { name: 'auth', dependencies: ['rbac', 'security-events', 'errors'] })
