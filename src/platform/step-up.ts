import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { platformErrors, type AppError } from './errors.ts'

/**
 * stepUpRequired is the reply to a sensitive action on a session authenticated too long ago: 401 with
 * RFC 9470's `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=…`, so the
 * frontend asks for the password (and code) again instead of signing the user out.
 */
export function stepUpRequired (maxAgeSeconds: number): AppError {
  return platformErrors.STEP_UP_REQUIRED(`This action needs a recent sign-in (within ${maxAgeSeconds} s): re-authenticate with POST /api/v1/auth/reauthenticate, then retry`, {
    headers: { 'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=${maxAgeSeconds}` }
  })
}

/**
 * requireRecentAuth refuses a request unless its user authenticated in this session within
 * `maxAgeSeconds` (the access token's auth_time). API keys carry no authentication time: they never pass.
 */
export function requireRecentAuth (request: FastifyRequest, maxAgeSeconds: number, now = Date.now()): void {
  const authTime = request.actor?.kind === 'user' ? request.actor.authTime : undefined
  if (authTime === undefined || now / 1000 - authTime > maxAgeSeconds) throw stepUpRequired(maxAgeSeconds)
}

/** recentAuth is `requireRecentAuth` as a route preHandler; it runs after the access check. */
export function recentAuth (maxAgeSeconds: number): preHandlerAsyncHookHandler {
  return async (request) => { requireRecentAuth(request, maxAgeSeconds) }
}
