import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Actor, AuthScheme } from '../../platform/auth.ts'
import { authErrors } from '../../platform/auth.ts'
import type { Rbac } from '../../platform/rbac.ts'
import type { UsersService } from '../users/index.ts'
import { apiKeyErrors } from './errors.ts'
import { hashApiKey, prefixOf, sameHash } from './key-format.ts'
import type { ApiKeysService } from './service.ts'

/**
 * apiKeyScheme authenticates `X-API-Key: bp_…`: a live, unexpired key whose owner is active. The
 * actor's permissions are the key's scopes that the owner still holds, so demoting the owner takes
 * power from their keys at once. Every failure is the same 401, whatever was wrong.
 */
export function apiKeyScheme ({ keys, users, rbac }: { keys: ApiKeysService, users: UsersService, rbac: Rbac }): AuthScheme {
  return {
    name: 'api-key',
    async authenticate (request: FastifyRequest): Promise<Actor | null> {
      const header = request.headers['x-api-key']
      if (header === undefined) return null
      if (typeof header !== 'string') throw authErrors.AUTH_INVALID()
      const prefix = prefixOf(header)
      if (prefix === undefined) throw authErrors.AUTH_INVALID()
      const key = await keys.lookup(prefix)
      if (!key || !sameHash(key.hash, hashApiKey(header))) throw authErrors.AUTH_INVALID()
      if (key.expiresAt !== null && key.expiresAt <= Date.now()) throw authErrors.AUTH_INVALID()
      // A frontend's key is a public client id (it ships in the browser bundle): it grants nothing,
      // so it is no credential here; it goes in X-Frontend-Key, beside the user's own credentials.
      if (key.frontendId !== undefined || key.userId === null) throw authErrors.AUTH_INVALID()
      const owner = await users.principal(key.userId)
      if (!owner || owner.status !== 'active') throw authErrors.AUTH_INVALID()
      keys.touch(key.id)
      if (key.agentId !== undefined) {
        // An agent's key acts with the agent role only, whatever its owner may do.
        return { kind: 'api-key', userId: key.userId, apiKeyId: key.id, agentId: key.agentId, roles: ['agent'], permissions: rbac.permissionsOf(['agent']) }
      }
      const held = rbac.permissionsOf(owner.roles)
      return {
        kind: 'api-key',
        userId: key.userId,
        apiKeyId: key.id,
        roles: owner.roles,
        permissions: new Set(key.scopes.filter((s) => held.has(s)))
      }
    }
  }
}

/**
 * refuseAmbiguousCredentials is an onRequest hook: a request to a protected route carrying both a
 * bearer token and an API key is refused (400), so no one has to guess which identity it acts as
 * (the bearer scheme runs first and would otherwise silently win).
 */
export function refuseAmbiguousCredentials (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  // Synchronous: an async hook would cost every request a promise and a microtask turn.
  if (request.headers['x-api-key'] === undefined || request.headers.authorization === undefined) return done()
  const access = request.routeOptions.config?.access
  if (access === undefined || access === 'public') return done()
  done(apiKeyErrors.CREDENTIALS_AMBIGUOUS())
}
