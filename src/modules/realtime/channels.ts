import type { FastifyInstance } from 'fastify'
import type { Actor } from '../../platform/auth.ts'
import { AppError } from '../../platform/errors.ts'
import { AGENT_READ } from '../agents/index.ts'
import { PROJECT_READ } from '../projects/index.ts'
import { USER_READ } from '../users/index.ts'
import { isUuid, limits, type ErrorCode } from './protocol.ts'

/** Channel is a parsed channel name: one resource's stream, or the admin stream. */
export type Channel =
  | { kind: 'user' | 'project' | 'agent', id: string }
  | { kind: 'admin' }
  | { kind: 'frontend', name: string, topic: string }

/** Refusal says why a subscription was refused, in the words sent to the client. */
export interface Refusal { code: ErrorCode, message: string }

/** REALTIME_ADMIN is the permission of the `admin` channel (held by the admin role only). */
export const REALTIME_ADMIN = 'realtime:admin'

const KINDS = new Set(['user', 'project', 'agent'])
// `frontend:<name>:<topic>`: a registered frontend's own broadcasts (issue 6).
const FRONTEND_CHANNEL = /^frontend:([a-z0-9][a-z0-9-]{0,62}):([a-z0-9][a-z0-9._-]{0,62})$/

/**
 * parseChannel accepts exactly `user:<uuid>`, `project:<uuid>`, `agent:<uuid>` and `admin`:
 * no wildcards, prefixes, paths, other letter cases or extra segments. Anything else is refused
 * with a reason, never thrown.
 */
export function parseChannel (name: string): Channel | Refusal {
  if (name.length > limits.maxChannelLength) return { code: 'CHANNEL_INVALID', message: `a channel name has at most ${limits.maxChannelLength} characters` }
  if (name === 'admin') return { kind: 'admin' }
  if (name.startsWith('frontend:')) {
    const match = FRONTEND_CHANNEL.exec(name)
    if (!match) return { code: 'CHANNEL_INVALID', message: 'frontend channels are frontend:<name>:<topic> (lowercase letters, digits, . _ -)' }
    return { kind: 'frontend', name: match[1]!, topic: match[2]! }
  }
  const colon = name.indexOf(':')
  const kind = colon === -1 ? name : name.slice(0, colon)
  if (!KINDS.has(kind)) return { code: 'CHANNEL_INVALID', message: 'unknown channel: channels are user:<id>, project:<id>, agent:<id>, frontend:<name>:<topic> and admin' }
  const id = name.slice(colon + 1)
  if (colon === -1 || !isUuid(id)) return { code: 'CHANNEL_INVALID', message: `${kind} channels are ${kind}:<id> with a lowercase UUID` }
  return { kind: kind as 'user' | 'project' | 'agent', id }
}

const notFound: Refusal = { code: 'CHANNEL_NOT_FOUND', message: 'No such channel, or you may not read it' }
const forbidden: Refusal = { code: 'CHANNEL_FORBIDDEN', message: 'You do not have permission to read this channel' }

/** isRefusal tells a Refusal from a Channel. */
export function isRefusal (value: Channel | Refusal | null): value is Refusal {
  return value !== null && 'code' in value
}

/**
 * createChannelAuthorizer checks a subscription exactly like the matching REST read: the same
 * permission the route declares, then the same service check. Another user's resource and a
 * missing one get the same refusal (like the REST 404); a visible one without the right is
 * forbidden (like the REST 403). It resolves to null when the subscription is allowed.
 */
export function createChannelAuthorizer (app: FastifyInstance) {
  /** fromError maps a service's 404/403 onto the refusal the REST read would have given. */
  function fromError (err: unknown): Refusal {
    if (err instanceof AppError && err.status === 404) return notFound
    if (err instanceof AppError && err.status === 403) return forbidden
    throw err
  }

  return async function authorize (actor: Actor, channel: Channel): Promise<Refusal | null> {
    switch (channel.kind) {
      case 'admin':
        return actor.permissions.has(REALTIME_ADMIN) ? null : forbidden
      case 'frontend':
        // A frontend's namespace is its own: only sessions signed in through that frontend
        // (their token's aud is frontend:<name>) receive its broadcasts; everyone else, admins
        // included, is told it does not exist.
        return actor.frontend === channel.name ? null : notFound
      case 'user':
        // GET /users/me is for the signed-in user (access 'user'); another account is GET /admin/users/:id (user:read).
        if (actor.kind === 'user' && actor.userId === channel.id) return null
        if (actor.permissions.has(USER_READ)) return null
        // An API key cannot read its owner's account either (GET /users/me answers it 403).
        return actor.userId === channel.id ? forbidden : notFound
      case 'project':
        if (!actor.permissions.has(PROJECT_READ)) return forbidden
        try {
          await app.projects.requireAccess(actor, channel.id, 'viewer')
          return null
        } catch (err) {
          return fromError(err)
        }
      case 'agent':
        // An agent's own credential follows its own stream, whatever its role may read.
        if (actor.agentId === channel.id) return null
        if (!actor.permissions.has(AGENT_READ)) return actor.agentId !== undefined ? notFound : forbidden
        try {
          await app.agents.requireAgent(actor, channel.id, 'viewer')
          return null
        } catch (err) {
          return fromError(err)
        }
    }
  }
}

/** ChannelAuthorizer is the function createChannelAuthorizer returns. */
export type ChannelAuthorizer = ReturnType<typeof createChannelAuthorizer>
