import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { authChallenges } from './table.ts'
import { hashToken, newOpaqueToken } from './tokens.ts'

/** ChallengePurpose names the flow a challenge belongs to; a token of one purpose never passes for another. */
export type ChallengePurpose = typeof authChallenges.$inferSelect['purpose']

/** Challenge is a live challenge as a flow reads it. */
export type Challenge = typeof authChallenges.$inferSelect

/** MAX_CHALLENGE_ATTEMPTS is how many wrong answers one challenge takes before it stops working. */
export const MAX_CHALLENGE_ATTEMPTS = 5

/**
 * createAuthChallenges keeps the short-lived, single-use steps between sign-in requests (the MFA
 * challenge after a right password, OIDC state, WebAuthn challenges), stored as hashes of their tokens.
 */
export function createAuthChallenges (db: Database) {
  // Ended challenges are deleted now and then as new ones are made (at most every 10 minutes per node):
  // their rows are worthless a day after they expired, and every sign-in step writes one.
  let lastPrune = 0
  const prune = async () => {
    await db.delete(authChallenges).where(lt(authChallenges.expiresAt, new Date(Date.now() - 86_400_000)))
  }
  const live = (purpose: ChallengePurpose, token: string) => and(
    eq(authChallenges.tokenHash, hashToken(token)), eq(authChallenges.purpose, purpose),
    isNull(authChallenges.usedAt), gt(authChallenges.expiresAt, new Date()), lt(authChallenges.attempts, MAX_CHALLENGE_ATTEMPTS)
  )
  return {
    /** create returns a new challenge's raw token; only its hash is kept. */
    async create (purpose: ChallengePurpose, input: { userId?: string, audience?: string, data?: Record<string, unknown>, ttlMs: number, token?: string }): Promise<string> {
      const token = input.token ?? newOpaqueToken()
      if (Date.now() - lastPrune > 600_000) {
        lastPrune = Date.now()
        prune().catch(() => {})
      }
      await db.insert(authChallenges).values({
        purpose,
        tokenHash: hashToken(token),
        userId: input.userId ?? null,
        audience: input.audience ?? null,
        data: input.data ?? {},
        expiresAt: new Date(Date.now() + input.ttlMs)
      })
      return token
    },
    /** find returns the challenge while it is unused, unexpired and has attempts left; it does not spend it. */
    async find (purpose: ChallengePurpose, token: string): Promise<Challenge | undefined> {
      if (token.length > 512) return undefined
      const [row] = await db.select().from(authChallenges).where(live(purpose, token))
      return row
    },
    /** spend marks a challenge used by one conditional UPDATE, so two concurrent answers cannot both succeed. */
    async spend (purpose: ChallengePurpose, token: string): Promise<Challenge | undefined> {
      if (token.length > 512) return undefined
      const [row] = await db.update(authChallenges).set({ usedAt: new Date() }).where(live(purpose, token)).returning()
      return row
    },
    /** fail counts a wrong answer and returns the attempts made so far. */
    async fail (id: string): Promise<number> {
      const [row] = await db.update(authChallenges).set({ attempts: sql`${authChallenges.attempts} + 1` })
        .where(eq(authChallenges.id, id)).returning({ attempts: authChallenges.attempts })
      return row?.attempts ?? MAX_CHALLENGE_ATTEMPTS
    },
    /** prune deletes challenges that ended more than a day ago. */
    prune
  }
}

/** AuthChallenges is the challenge store. */
export type AuthChallenges = ReturnType<typeof createAuthChallenges>
