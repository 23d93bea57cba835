import { and, eq, lt, ne, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { NotificationType } from '../notifications/index.ts'
import { sessions } from './table.ts'

/**
 * authNotificationTypes are the auth module's notification types: a sign-in from a new device, a
 * session whose user agent none of the user's earlier sessions had (a first sign-in ever is not one).
 */
export function authNotificationTypes (): NotificationType[] {
  return [{
    type: 'session.new_device',
    description: 'Someone signed in to your account from a device not seen before',
    on: 'session.created',
    defaults: { email: true, push: false },
    async recipients (event, tx: Database) {
      const { sessionId } = event.data
      if (typeof sessionId !== 'string') return []
      const [session] = await tx.select().from(sessions).where(eq(sessions.id, sessionId))
      if (!session) return []
      const earlier = and(eq(sessions.userId, session.userId), ne(sessions.id, session.id), lt(sessions.createdAt, session.createdAt))
      const [seen] = await tx.select({
        any: sql<boolean>`count(*) > 0`,
        device: sql<boolean>`count(*) FILTER (WHERE ${sessions.userAgent} IS NOT DISTINCT FROM ${session.userAgent}) > 0`
      }).from(sessions).where(earlier)
      if (!seen?.any || seen.device) return []
      const device = session.userAgent ?? 'an unknown device'
      return [{
        userId: session.userId,
        title: 'New sign-in to your account',
        body: `A sign-in from ${device}${session.ip ? ` at ${session.ip}` : ''} on ${session.createdAt.toISOString()}. If this was not you, change your password and end that session.`,
        link: '/account/sessions'
      }]
    }
  }]
}
