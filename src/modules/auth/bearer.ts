import type { FastifyRequest } from 'fastify'
import type { Actor, AuthScheme } from '../../platform/auth.ts'
import { authErrors } from '../../platform/auth.ts'
import type { AppError } from '../../platform/errors.ts'
import type { SecurityEvents } from '../../platform/security-events.ts'
import type { Rbac } from '../../platform/rbac.ts'
import { frontendOfAudience } from '../../platform/frontend-context.ts'
import type { UsersService } from '../users/index.ts'
import type { Sessions } from './sessions.ts'
import type { SigningKeys } from './signing-keys.ts'

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/

/**
 * bearerScheme authenticates `Authorization: Bearer <access token>`: a valid signature and claims,
 * a live session (cached, revocation-aware) and an active user. Every failure is the same 401.
 */
export function bearerScheme ({ keys, sessions, users, rbac, audiences, events }: {
  keys: SigningKeys
  sessions: Sessions
  users: UsersService
  rbac: Rbac
  /**
   * audiences lists the aud values this API accepts for a request: the default audience, and the
   * frontend audiences the request may use (a token issued to frontend A is refused with B's key, AZ-08).
   */
  audiences: (request: FastifyRequest) => string[]
  /** events receives `auth.token_rejected` for forged, tampered or malformed tokens (SECURITY.md AU-01). */
  events?: SecurityEvents
}): AuthScheme {
  // A request's credentials may be checked twice (the rate limiter, then the route): report once.
  const reported = new WeakSet<FastifyRequest>()
  function rejected (request: FastifyRequest, reason: string): AppError {
    // An expired token is routine (a client refreshing late), not an attack: it is not reported.
    if (events && !reason.startsWith('ERR_JWT_EXPIRED') && !reported.has(request)) {
      reported.add(request)
      events.fromRequest(request, { action: 'auth.token_rejected', outcome: 'denied', details: { reason } })
    }
    return authErrors.AUTH_INVALID()
  }

  return {
    name: 'bearer',
    async authenticate (request: FastifyRequest): Promise<Actor | null> {
      const header = request.headers.authorization
      if (header === undefined) return null
      if (header.length > 8192) throw rejected(request, 'oversized')
      const match = BEARER.exec(header)
      if (!match) throw rejected(request, 'malformed')
      let claims
      try {
        claims = await keys.verify(match[1]!, audiences(request))
      } catch (err) {
        // The jose error code (or the claim that failed) says what was wrong; never the token itself.
        const { code, claim } = err as { code?: string, claim?: string }
        throw rejected(request, claim ? `${code}:${claim}` : code ?? 'invalid')
      }
      const session = await sessions.live(claims.sid)
      if (!session || session.userId !== claims.sub) throw authErrors.AUTH_INVALID()
      const principal = await users.principal(claims.sub)
      if (!principal || principal.status !== 'active') throw authErrors.AUTH_INVALID()
      return {
        kind: 'user',
        userId: claims.sub,
        sessionId: claims.sid,
        roles: principal.roles,
        permissions: rbac.permissionsOf(principal.roles),
        frontend: frontendOfAudience(session.audience),
        ...(typeof claims.auth_time === 'number' ? { authTime: claims.auth_time } : {})
      }
    }
  }
}
