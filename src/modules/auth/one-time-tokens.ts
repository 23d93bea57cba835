import { and, eq, gt, isNull } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { oneTimeTokens } from './table.ts'
import { hashToken, newOpaqueToken } from './tokens.ts'

type Purpose = typeof oneTimeTokens.$inferSelect['purpose']

/** createOneTimeTokens issues and spends single-use, expiring tokens, stored hashed. */
export function createOneTimeTokens (db: Database) {
  async function spend (purpose: Purpose, token: string) {
    // One UPDATE both checks and spends the token, so two concurrent uses cannot both succeed.
    const [row] = await db.update(oneTimeTokens).set({ usedAt: new Date() })
      .where(and(
        eq(oneTimeTokens.tokenHash, hashToken(token)), eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, new Date())
      ))
      .returning({ userId: oneTimeTokens.userId, email: oneTimeTokens.email })
    return row
  }
  return {
    /** create returns the raw token (to mail) and keeps only its hash; older unused tokens of the same user and purpose stop working. */
    async create (purpose: Purpose, input: { userId?: string, email?: string, ttlMs: number }): Promise<string> {
      const token = newOpaqueToken()
      await db.transaction(async (tx) => {
        if (input.userId) {
          await tx.update(oneTimeTokens).set({ usedAt: new Date() })
            .where(and(eq(oneTimeTokens.userId, input.userId), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt)))
        }
        await tx.insert(oneTimeTokens).values({
          purpose,
          tokenHash: hashToken(token),
          userId: input.userId ?? null,
          email: input.email?.trim().toLowerCase() ?? null,
          expiresAt: new Date(Date.now() + input.ttlMs)
        })
      })
      return token
    },
    /** consume spends a token and returns its user id, or undefined when invalid, expired or used. */
    async consume (purpose: Purpose, token: string): Promise<string | undefined> {
      if (token.length > 200) return undefined
      return (await spend(purpose, token))?.userId ?? undefined
    },
    /** consumeWithEmail spends a token and returns both its user id and the address it was made for. */
    async consumeWithEmail (purpose: Purpose, token: string): Promise<{ userId: string, email: string } | undefined> {
      if (token.length > 200) return undefined
      const row = await spend(purpose, token)
      return row?.userId && row.email ? { userId: row.userId, email: row.email } : undefined
    },
    /** consumeInvite spends an invitation if it was made for this email. */
    async consumeInvite (token: string, email: string): Promise<boolean> {
      if (token.length > 200) return false
      const [row] = await db.select().from(oneTimeTokens).where(and(eq(oneTimeTokens.tokenHash, hashToken(token)), eq(oneTimeTokens.purpose, 'invite')))
      if (!row || row.email !== email.trim().toLowerCase()) return false
      return (await spend('invite', token)) !== undefined
    }
  }
}

/** OneTimeTokens is the single-use token service. */
export type OneTimeTokens = ReturnType<typeof createOneTimeTokens>
