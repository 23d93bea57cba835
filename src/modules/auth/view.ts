import type { Static } from 'typebox'
import type { SessionListSchema } from './schemas.ts'
import type { Sessions } from './sessions.ts'

type SessionRow = Awaited<ReturnType<Sessions['listForUser']>>[number]
type SessionView = Static<typeof SessionListSchema>['items'][number]

/** toSessionView is how a session leaves the module, to its owner or to an admin; `currentId` marks the caller's own. */
export function toSessionView (s: SessionRow, currentId?: string): SessionView {
  return {
    id: s.id,
    current: s.id === currentId,
    userAgent: s.userAgent,
    ip: s.ip,
    createdAt: s.createdAt.toISOString(),
    lastUsedAt: s.lastUsedAt.toISOString(),
    expiresAt: s.expiresAt.toISOString()
  }
}
