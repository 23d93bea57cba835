import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import { newId } from '../../lib/ids.ts'
import type { Database } from '../../platform/db.ts'
import { oneTimeTokens } from './table.ts'
import { hashToken, newOpaqueToken } from './tokens.ts'

// NO_USER is an id no account has: a token without a user revokes nothing.
const NO_USER = '00000000-0000-0000-0000-000000000000'

type Purpose = typeof oneTimeTokens.$inferSelect['purpose']

/** MAX_TOKEN_TTL_MS is the longest a one-time token may live (invitations and new accounts' links: 7 days). */
export const MAX_TOKEN_TTL_MS = 7 * 86_400_000
/**
 * PRUNE_AFTER_MS is the age past which a token's row is deleted: a day past the longest life, so a
 * pruned row is one no token older than it can still be waiting on (a reset token works only while
 * no newer one names its address: deleting a newer row that some older, living token saw would
 * bring that one back).
 */
export const PRUNE_AFTER_MS = MAX_TOKEN_TTL_MS + 86_400_000
const PRUNE_EVERY_MS = 600_000

/** createOneTimeTokens issues and spends single-use, expiring tokens, stored hashed. */
export function createOneTimeTokens (db: Database) {
  // Every forgot-password request writes a row, whatever the address: old rows are deleted now and
  // then as new ones are made (at most every 10 minutes per node), as auth challenges are.
  let lastPrune = 0
  const prune = async (now = new Date()): Promise<number> => {
    const removed = await db.delete(oneTimeTokens).where(lt(oneTimeTokens.createdAt, new Date(now.getTime() - PRUNE_AFTER_MS))).returning({ id: oneTimeTokens.id })
    return removed.length
  }
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
    /**
     * spendReset spends a password-reset token and gives the account it names (its user, or the
     * address it was mailed to). A reset token works only while it is the newest one for its user and
     * for its address: forgot-password tokens carry only the address (so an existing and an unknown
     * one write the same row, AU-12), and a newer one must still make the older ones stop working.
     */
    async spendReset (token: string): Promise<{ userId: string | null, email: string | null } | undefined> {
      if (token.length > 200) return undefined
      const { rows } = await db.execute<{ user_id: string | null, email: string | null }>(sql`UPDATE ${oneTimeTokens} AS t SET used_at = now(), updated_at = now()
        WHERE t.token_hash = ${hashToken(token)} AND t.purpose = 'reset_password' AND t.used_at IS NULL AND t.expires_at > now()
          AND NOT EXISTS (
            SELECT 1 FROM ${oneTimeTokens} AS n
            WHERE n.purpose = 'reset_password' AND (n.created_at, n.id) > (t.created_at, t.id)
              AND (n.email = t.email OR n.user_id = t.user_id)
          )
        RETURNING t.user_id, t.email`)
      const row = rows[0]
      return row ? { userId: row.user_id, email: row.email } : undefined
    },
    /**
     * create returns the raw token (to mail) and keeps only its hash; older unused tokens of the same
     * user and purpose stop working. One statement whether or not there is a user (a token without
     * one can never be spent), in `tx` when given; `then(token, tx)` runs in the same transaction:
     * queue the token's mail there, so a token that is not saved sends no link and a saved one
     * cannot lose its mail.
     */
    async create (purpose: Purpose, input: { userId?: string, email?: string, ttlMs: number }, then?: (token: string, tx: Database) => Promise<void>, tx?: Database): Promise<string> {
      if (input.ttlMs > MAX_TOKEN_TTL_MS) throw new RangeError(`a one-time token lives at most ${MAX_TOKEN_TTL_MS} ms`)
      if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = Date.now()
        prune().catch(() => {})
      }
      const token = newOpaqueToken()
      const write = async (on: Database) => {
        const expiresAt = new Date(Date.now() + input.ttlMs).toISOString()
        // Without a user the same statement looks up an id no account has (ids are UUID v7), so it
        // probes the same index and revokes nothing; `user_id = NULL` would be planned away instead.
        await on.execute(sql`WITH revoked AS (
          UPDATE ${oneTimeTokens} SET used_at = now(), updated_at = now()
          WHERE user_id = ${input.userId ?? NO_USER}::uuid AND purpose = ${purpose} AND used_at IS NULL
        )
        INSERT INTO ${oneTimeTokens} (id, purpose, token_hash, user_id, email, expires_at)
        VALUES (${newId()}, ${purpose}, ${hashToken(token)}, ${input.userId ?? null}::uuid, ${input.email?.trim().toLowerCase() ?? null}, ${expiresAt}::timestamptz)`)
        if (then) await then(token, on)
      }
      if (tx) await write(tx)
      else if (then) await db.transaction(write)
      else await write(db)
      return token
    },
    /** prune deletes the rows made more than PRUNE_AFTER_MS ago (spent, expired or never used alike); returns how many. */
    prune,
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
