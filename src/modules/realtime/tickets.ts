import { frontendOfAudience } from '../../platform/frontend-context.ts'
import { createHash, randomBytes } from 'node:crypto'
import { and, eq, gt, lt } from 'drizzle-orm'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Actor, AuthScheme } from '../../platform/auth.ts'
import { authErrors, queryField } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import { REALTIME_PATH } from './protocol.ts'
import { realtimeTickets } from './table.ts'

/** TICKET_TTL_SECONDS is how long a ticket may wait before it is used. */
export const TICKET_TTL_SECONDS = 30

const hash = (ticket: string) => createHash('sha256').update(ticket).digest('hex')
const TICKET = /^rt_[A-Za-z0-9_-]{43}$/

/** createTickets issues and spends one-time WebSocket tickets bound to a user's session. */
export function createTickets (db: Database) {
  return {
    /** create stores a ticket for the session (only its hash) and returns it; expired tickets are swept on the way. */
    async create (userId: string, sessionId: string): Promise<{ ticket: string, expiresIn: number }> {
      const ticket = `rt_${randomBytes(32).toString('base64url')}`
      await db.delete(realtimeTickets).where(lt(realtimeTickets.expiresAt, new Date()))
      await db.insert(realtimeTickets).values({ tokenHash: hash(ticket), userId, sessionId, expiresAt: new Date(Date.now() + TICKET_TTL_SECONDS * 1000) })
      return { ticket, expiresIn: TICKET_TTL_SECONDS }
    },

    /** consume spends a ticket: one DELETE checks and spends it, so two nodes can never both accept it. */
    async consume (ticket: string): Promise<{ userId: string, sessionId: string } | undefined> {
      if (!TICKET.test(ticket)) return undefined
      const [row] = await db.delete(realtimeTickets)
        .where(and(eq(realtimeTickets.tokenHash, hash(ticket)), gt(realtimeTickets.expiresAt, new Date())))
        .returning({ userId: realtimeTickets.userId, sessionId: realtimeTickets.sessionId })
      return row
    }
  }
}

/** Tickets is the ticket store. */
export type Tickets = ReturnType<typeof createTickets>

/**
 * actorOfSession builds a signed-in user's actor from a session, as the bearer scheme does: the
 * session must be live (cached, revocation-aware) and the user active.
 */
export async function actorOfSession (app: FastifyInstance, userId: string, sessionId: string): Promise<Actor | undefined> {
  const session = await app.sessions.live(sessionId)
  if (!session || session.userId !== userId) return undefined
  const principal = await app.users.principal(userId)
  if (!principal || principal.status !== 'active') return undefined
  return { kind: 'user', userId, sessionId, roles: principal.roles, permissions: app.rbac.permissionsOf(principal.roles), frontend: frontendOfAudience(session.audience) }
}

/**
 * ticketScheme authenticates a WebSocket upgrade to the realtime route carrying `?ticket=`; on
 * every other request it stands aside. A bad, used or expired ticket is the usual 401.
 */
export function ticketScheme (app: FastifyInstance, tickets: Tickets, usedTicket: WeakSet<FastifyRequest>): AuthScheme {
  return {
    name: 'realtime-ticket',
    async authenticate (request) {
      if (request.routeOptions.url !== REALTIME_PATH || !request.ws) return null
      const ticket = queryField(request, 'ticket')
      if (ticket === undefined) return null
      if (typeof ticket !== 'string') throw authErrors.AUTH_INVALID()
      const spent = await tickets.consume(ticket)
      const actor = spent && await actorOfSession(app, spent.userId, spent.sessionId)
      if (!actor) throw authErrors.AUTH_INVALID()
      usedTicket.add(request)
      return actor
    }
  }
}
