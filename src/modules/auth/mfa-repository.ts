import { and, count, eq, isNull, lt, or } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { mfaFactors, mfaRecoveryCodes } from './table.ts'

/** MfaFactorRow is a stored TOTP factor. */
export type MfaFactorRow = typeof mfaFactors.$inferSelect

/** createMfaRepository holds the TOTP factor and recovery-code queries. */
export function createMfaRepository (db: Database) {
  return {
    async factor (userId: string, tx: Database = db): Promise<MfaFactorRow | undefined> {
      const [row] = await tx.select().from(mfaFactors).where(eq(mfaFactors.userId, userId))
      return row
    },
    /** savePending stores a new unconfirmed secret, replacing an earlier unconfirmed one. */
    async savePending (userId: string, secretSealed: string): Promise<void> {
      await db.insert(mfaFactors).values({ userId, secretSealed }).onConflictDoUpdate({
        target: mfaFactors.userId,
        set: { secretSealed, lastStep: null, updatedAt: new Date() },
        setWhere: isNull(mfaFactors.confirmedAt)
      })
    },
    async confirm (id: string, step: number, tx: Database): Promise<boolean> {
      const rows = await tx.update(mfaFactors).set({ confirmedAt: new Date(), lastStep: step })
        .where(and(eq(mfaFactors.id, id), isNull(mfaFactors.confirmedAt))).returning({ id: mfaFactors.id })
      return rows.length > 0
    },
    /** useStep records a code's time step if it is later than the last one used: false means a replay. */
    async useStep (id: string, step: number): Promise<boolean> {
      const rows = await db.update(mfaFactors).set({ lastStep: step })
        .where(and(eq(mfaFactors.id, id), or(isNull(mfaFactors.lastStep), lt(mfaFactors.lastStep, step)))).returning({ id: mfaFactors.id })
      return rows.length > 0
    },
    async remove (userId: string, tx: Database): Promise<boolean> {
      await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId))
      const rows = await tx.delete(mfaFactors).where(eq(mfaFactors.userId, userId)).returning({ id: mfaFactors.id })
      return rows.length > 0
    },
    /** replaceCodes drops every recovery code of the user and stores the new hashes. */
    async replaceCodes (userId: string, hashes: string[], tx: Database): Promise<void> {
      await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId))
      await tx.insert(mfaRecoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash })))
    },
    /** useCode spends an unused recovery code by one conditional UPDATE; false when unknown or used. */
    async useCode (userId: string, codeHash: string, tx: Database = db): Promise<boolean> {
      const rows = await tx.update(mfaRecoveryCodes).set({ usedAt: new Date() })
        .where(and(eq(mfaRecoveryCodes.userId, userId), eq(mfaRecoveryCodes.codeHash, codeHash), isNull(mfaRecoveryCodes.usedAt)))
        .returning({ id: mfaRecoveryCodes.id })
      return rows.length > 0
    },
    async codesLeft (userId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(mfaRecoveryCodes).where(and(eq(mfaRecoveryCodes.userId, userId), isNull(mfaRecoveryCodes.usedAt)))
      return row?.n ?? 0
    }
  }
}

/** MfaRepository is the MFA queries. */
export type MfaRepository = ReturnType<typeof createMfaRepository>
