import { and, desc, eq, isNull, sql, type SQL } from 'drizzle-orm'
import type { Cache } from '../../platform/cache.ts'
import type { Database } from '../../platform/db.ts'
import type { DomainEvent, Events } from '../../platform/events.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import { refreshTokens, sessions } from './table.ts'
import { childToken, hashToken, newOpaqueToken } from './tokens.ts'

const GRACE_MS = 10_000
const REDELETE_MS = 2_000

/** SessionLimits are the lifetimes of a session (SECURITY.md decision 3). */
export interface SessionLimits { idleDays: number, absoluteDays: number }

/** LiveSession is what the per-request check needs, cached per node. */
export interface LiveSession { userId: string, audience: string }

/** RefreshOutcome says what a refresh attempt did. */
export type RefreshOutcome =
  | { kind: 'rotated', token: string, sessionId: string, userId: string, audience: string, authTime: number }
  | { kind: 'reuse', sessionId: string, userId: string }
  | { kind: 'invalid' }

/** Audited writes the audit row of sessions ending in the same transaction, told how many ended. */
export type Audited = (ended: number, tx: Database) => Promise<void>

type SessionRow = typeof sessions.$inferSelect
const DAY = 86_400_000
const authTimeOf = (s: SessionRow) => Math.floor(s.authenticatedAt.getTime() / 1000)

/** createSessions holds sign-in sessions and their rotating refresh-token families. */
export function createSessions ({ db, cache, limits, refreshKey, onRevoked, events, audit }: {
  db: Database
  cache: Cache
  /** events records session.created and session.revoked in the same transactions (realtime closes sockets on the latter). */
  events: Events
  /** audit records a session ended on request (`end`) in the ending's transaction. */
  audit: SecurityEvents
  limits: SessionLimits
  /** refreshKey derives child refresh tokens; read on first use. */
  refreshKey: () => Buffer
  /** onRevoked is told of every ended session (realtime closes its sockets). */
  onRevoked?: (sessionId: string, userId: string, reason: string) => void
}) {
  const key = (sid: string) => `session:${sid}`

  function expired (s: SessionRow, now: number): boolean {
    return s.expiresAt.getTime() <= now || s.lastUsedAt.getTime() + limits.idleDays * DAY <= now
  }

  // A session read that overlapped a revocation must not be cached: it may have seen the session
  // just before the revocation committed and would then write "live" back after the cache delete,
  // keeping a revoked session usable for the whole TTL. Every revocation seen by this node (its own,
  // and other nodes' through the cache bus) moves this counter; a read that saw it move reads again.
  let revocations = 0
  cache.on('bus:message:received', () => { revocations++ })

  async function forget (ids: Array<{ id: string, userId: string }>, reason: string): Promise<void> {
    if (ids.length === 0) return
    revocations++
    const keys = ids.map((s) => key(s.id))
    await cache.deleteMany({ keys })
    // A read on another node may still be in flight and write back after the delete: delete again
    // once such a read has surely ended, which bounds that cross-node window to REDELETE_MS.
    setTimeout(() => { cache.deleteMany({ keys }).catch(() => {}) }, REDELETE_MS).unref()
    for (const s of ids) onRevoked?.(s.id, s.userId, reason)
  }

  const revoked = (s: { id: string, userId: string }, reason: string): DomainEvent => ({
    type: 'session.revoked',
    aggregate: `session:${s.id}`,
    channels: [`user:${s.userId}`],
    data: { sessionId: s.id, userId: s.userId, reason }
  })

  async function revokeWhere (where: SQL | undefined, reason: string, audited?: Audited): Promise<Array<{ id: string, userId: string }>> {
    const rows = await db.transaction(async (tx) => {
      const rows = await tx.update(sessions).set({ revokedAt: new Date(), revokedReason: reason }).where(where)
        .returning({ id: sessions.id, userId: sessions.userId })
      for (const r of rows) await events.record(revoked(r, reason), tx)
      await audited?.(rows.length, tx)
      return rows
    })
    await forget(rows, reason)
    return rows
  }

  async function readLive (sid: string): Promise<{ userId: string, audience: string, expiresAt: number } | null> {
    const [s] = await db.select().from(sessions).where(eq(sessions.id, sid))
    if (!s || s.revokedAt || expired(s, Date.now())) return null
    return { userId: s.userId, audience: s.audience, expiresAt: s.expiresAt.getTime() }
  }

  return {
    /** create starts a session and returns its first refresh token; `audited` writes the sign-in's audit row in the same transaction. */
    async create (input: { userId: string, audience: string, userAgent?: string, ip?: string, method?: string }, audited?: (sessionId: string, tx: Database) => Promise<void>): Promise<{ sessionId: string, refreshToken: string }> {
      const refreshToken = newOpaqueToken()
      const sessionId = await db.transaction(async (tx) => {
        const [session] = await tx.insert(sessions).values({
          userId: input.userId,
          audience: input.audience,
          userAgent: input.userAgent?.slice(0, 512) ?? null,
          ip: input.ip ?? null,
          method: input.method ?? 'password',
          expiresAt: new Date(Date.now() + limits.absoluteDays * DAY)
        }).returning({ id: sessions.id })
        await tx.insert(refreshTokens).values({ sessionId: session!.id, tokenHash: hashToken(refreshToken) })
        await events.record({ type: 'session.created', aggregate: `session:${session!.id}`, channels: [`user:${input.userId}`], data: { sessionId: session!.id, userId: input.userId } }, tx)
        await audited?.(session!.id, tx)
        return session!.id
      })
      return { sessionId, refreshToken }
    },

    /**
     * refresh rotates a refresh token. Concurrent refreshes of one token are serialised on the
     * session row; within 10 s of a rotation the same child comes back; later reuse revokes the
     * whole family, and that revocation is committed even though the request fails.
     */
    async refresh (raw: string, meta: { userAgent?: string, ip?: string }): Promise<RefreshOutcome> {
      const outcome = await db.transaction(async (tx): Promise<RefreshOutcome> => {
        const [found] = await tx.select({ token: refreshTokens, session: sessions }).from(refreshTokens)
          .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
          .where(eq(refreshTokens.tokenHash, hashToken(raw)))
          .for('update', { of: [sessions, refreshTokens] })
        if (!found) return { kind: 'invalid' }
        const { token, session } = found
        const now = Date.now()
        if (session.revokedAt) return { kind: 'invalid' }
        if (expired(session, now)) {
          await tx.update(sessions).set({ revokedAt: new Date(), revokedReason: 'expired' }).where(eq(sessions.id, session.id))
          await events.record(revoked(session, 'expired'), tx)
          return { kind: 'invalid' }
        }
        const child = childToken(refreshKey(), raw)
        if (token.rotatedAt) {
          const [next] = await tx.select().from(refreshTokens).where(eq(refreshTokens.id, token.replacedById!))
          const withinGrace = now - token.rotatedAt.getTime() <= GRACE_MS
          if (withinGrace && next && !next.rotatedAt) {
            return { kind: 'rotated', token: child, sessionId: session.id, userId: session.userId, audience: session.audience, authTime: authTimeOf(session) }
          }
          await tx.update(sessions).set({ revokedAt: new Date(), revokedReason: 'refresh token reused' }).where(eq(sessions.id, session.id))
          await events.record(revoked(session, 'refresh token reused'), tx)
          return { kind: 'reuse', sessionId: session.id, userId: session.userId }
        }
        const [inserted] = await tx.insert(refreshTokens).values({ sessionId: session.id, tokenHash: hashToken(child), parentId: token.id }).returning({ id: refreshTokens.id })
        await tx.update(refreshTokens).set({ rotatedAt: new Date(now), replacedById: inserted!.id }).where(eq(refreshTokens.id, token.id))
        await tx.update(sessions).set({ lastUsedAt: new Date(now), ip: meta.ip ?? session.ip, userAgent: meta.userAgent?.slice(0, 512) ?? session.userAgent }).where(eq(sessions.id, session.id))
        return { kind: 'rotated', token: child, sessionId: session.id, userId: session.userId, audience: session.audience, authTime: authTimeOf(session) }
      })
      if (outcome.kind === 'reuse') await forget([{ id: outcome.sessionId, userId: outcome.userId }], 'refresh token reused')
      return outcome
    },

    /** live returns the session if it may still be used (through the cache; revocation deletes the entry everywhere). */
    async live (sid: string): Promise<LiveSession | undefined> {
      let uncached: { value: Awaited<ReturnType<typeof readLive>> } | undefined
      const cached = await cache.getOrSet({
        key: key(sid),
        ttl: '30s',
        factory: async (ctx) => {
          let read: Awaited<ReturnType<typeof readLive>> = null
          for (let attempt = 0; attempt < 3; attempt++) {
            const seen = revocations
            read = await readLive(sid)
            if (seen === revocations) return read
          }
          // Revocations kept landing during the reads: answer from the last read, cache nothing.
          uncached = { value: read }
          return ctx.skip()
        }
      })
      const value = uncached ? uncached.value : cached
      if (!value || value.expiresAt <= Date.now()) return undefined
      return { userId: value.userId, audience: value.audience }
    },

    /**
     * reauthenticated records that the user just proved who they are again in this session (step-up):
     * the new auth_time in seconds, or undefined when the session is not theirs or has ended.
     */
    async reauthenticated (userId: string, sessionId: string): Promise<number | undefined> {
      const [row] = await db.update(sessions).set({ authenticatedAt: new Date() })
        .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
        .returning({ authenticatedAt: sessions.authenticatedAt })
      return row ? Math.floor(row.authenticatedAt.getTime() / 1000) : undefined
    },

    /** revoke ends one session of a user; false when it is not theirs or already ended. `audited` writes its audit row in the same transaction. */
    async revoke (userId: string, sessionId: string, reason: string, audited?: Audited): Promise<boolean> {
      const rows = await revokeWhere(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)), reason, audited)
      return rows.length > 0
    },

    /**
     * end ends one session of a user at the user's own request or an admin's, audited in the same
     * transaction (`auth.session_ended`, `auth.session_revoked_by_admin`); false when it is not theirs or already ended.
     */
    async end (userId: string, sessionId: string, by: 'user' | 'admin', context: AuditContext): Promise<boolean> {
      const event = by === 'user'
        ? { action: 'auth.session_ended', outcome: 'success' as const, targetType: 'session', targetId: sessionId }
        : { action: 'auth.session_revoked_by_admin', outcome: 'success' as const, targetType: 'session', targetId: sessionId, details: { userId } }
      const where = and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt))
      const rows = await revokeWhere(where, `ended by ${by}`, async (ended, tx) => { if (ended > 0) await audit.record(context, event, tx) })
      return rows.length > 0
    },

    /** revokeAllForUser ends every session of a user, except one when given (password change keeps the current); `audited` as for revoke. */
    async revokeAllForUser (userId: string, reason: string, except?: string, audited?: Audited): Promise<number> {
      const rows = await revokeWhere(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), except ? sql`${sessions.id} <> ${except}` : undefined), reason, audited)
      return rows.length
    },

    /** listForUser returns the user's live sessions, most recently used first. */
    async listForUser (userId: string) {
      const rows = await db.select().from(sessions)
        .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
        .orderBy(desc(sessions.lastUsedAt)).limit(100)
      const now = Date.now()
      return rows.filter((s) => !expired(s, now))
    }
  }
}

/** Sessions is the session service. */
export type Sessions = ReturnType<typeof createSessions>
