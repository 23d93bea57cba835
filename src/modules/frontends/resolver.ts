import type { FastifyRequest } from 'fastify'
import { FRONTEND_KEY_HEADER, frontendAudience, type FrontendResolver } from '../../platform/frontend-context.ts'
import type { SecurityEvents } from '../../platform/security-events.ts'
import type { ApiKeysService } from '../api-keys/index.ts'
import { frontendErrors } from './errors.ts'
import type { FrontendRegistry } from './registry.ts'

/**
 * frontendResolver answers the platform's questions about a request from the registry:
 *
 * - identify: the `X-Frontend-Key` must be the live key of an enabled frontend (401 otherwise), and
 *   a request with an `Origin` must come from one of that frontend's origins (403 otherwise: the key
 *   is public, so another site could copy it, but not send it from its own origin through a browser).
 * - audiences: the frontend audiences an access token on this request may carry (SECURITY.md AZ-08):
 *   with a frontend key, only that frontend's; without one, those of the enabled frontends that own
 *   the request's Origin (all of them for a request without an Origin: a server or a native app).
 *   A token issued through frontend A is thus refused with B's key or from B's pages.
 */
export function frontendResolver ({ registry, apiKeys, securityEvents }: {
  registry: FrontendRegistry
  apiKeys: Pick<ApiKeysService, 'verify' | 'touch'>
  securityEvents: SecurityEvents
}): FrontendResolver {
  // The key is public: a foreign page can send it as often as it likes. Each (frontend, origin) pair
  // is audited once a minute per node, so the refusals cannot flood the audit log.
  const reported = new Map<string, number>()
  function reportOnce (pair: string): boolean {
    const now = Date.now()
    if ((reported.get(pair) ?? 0) > now) return false
    if (reported.size >= 10_000) for (const [k, until] of reported) if (until <= now) reported.delete(k)
    if (reported.size >= 10_000) return false
    reported.set(pair, now + 60_000)
    return true
  }

  return {
    async identify (request: FastifyRequest) {
      const header = request.headers[FRONTEND_KEY_HEADER]
      const key = typeof header === 'string' ? await apiKeys.verify(header) : undefined
      const frontend = key?.frontendId === undefined ? undefined : await registry.byId(key.frontendId)
      if (!key || !frontend) throw frontendErrors.FRONTEND_KEY_INVALID()
      const origin = request.headers.origin
      if (origin !== undefined && !frontend.origins.has(origin)) {
        if (reportOnce(`${frontend.id} ${origin.slice(0, 255)}`)) {
          securityEvents.fromRequest(request, {
            action: 'frontend.origin_refused',
            outcome: 'denied',
            targetType: 'frontend',
            targetId: frontend.id,
            details: { frontend: frontend.name, origin: origin.slice(0, 255) }
          })
        }
        throw frontendErrors.FRONTEND_ORIGIN_FORBIDDEN()
      }
      apiKeys.touch(key.id)
      return { id: frontend.id, name: frontend.name, rateTier: frontend.rateTier }
    },

    audiences (request: FastifyRequest): string[] {
      if (request.frontend !== null) return [frontendAudience(request.frontend)]
      const origin = request.headers.origin
      const names = origin === undefined ? registry.names() : registry.ownersOf(origin)
      return names.map(frontendAudience)
    }
  }
}
