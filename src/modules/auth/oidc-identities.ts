import { and, count, eq } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { oidcProviders, passkeys, userIdentities } from './table.ts'

/** createOidcIdentities holds the links between accounts and providers' subjects. */
export function createOidcIdentities (db: Database) {
  return {
    async find (providerId: string, subject: string) {
      const [row] = await db.select().from(userIdentities).where(and(eq(userIdentities.providerId, providerId), eq(userIdentities.subject, subject)))
      return row
    },
    /** link records the identity (a no-op when this user already holds it); false when another account holds it. */
    async link (input: { userId: string, providerId: string, subject: string, email?: string }, tx: Database = db): Promise<boolean> {
      const rows = await tx.insert(userIdentities).values({ ...input, email: input.email ?? null, lastUsedAt: new Date() })
        .onConflictDoNothing().returning({ id: userIdentities.id })
      if (rows.length > 0) return true
      const [held] = await tx.select({ userId: userIdentities.userId }).from(userIdentities)
        .where(and(eq(userIdentities.providerId, input.providerId), eq(userIdentities.subject, input.subject)))
      return held?.userId === input.userId
    },
    async touch (id: string): Promise<void> {
      await db.update(userIdentities).set({ lastUsedAt: new Date() }).where(eq(userIdentities.id, id))
    },
    /** listForUser returns the user's linked identities with their providers' names. */
    listForUser: (userId: string) => db.select({
      id: userIdentities.id,
      provider: oidcProviders.slug,
      displayName: oidcProviders.displayName,
      email: userIdentities.email,
      createdAt: userIdentities.createdAt,
      lastUsedAt: userIdentities.lastUsedAt
    }).from(userIdentities).innerJoin(oidcProviders, eq(oidcProviders.id, userIdentities.providerId)).where(eq(userIdentities.userId, userId)),
    async remove (userId: string, id: string, tx: Database): Promise<{ providerId: string } | undefined> {
      const [row] = await tx.delete(userIdentities).where(and(eq(userIdentities.id, id), eq(userIdentities.userId, userId))).returning({ providerId: userIdentities.providerId })
      return row
    },
    /** methodsCount counts the ways a user can still sign in besides one identity: linked identities and passkeys. */
    async methodsCount (userId: string, tx: Database = db): Promise<number> {
      const [ids] = await tx.select({ n: count() }).from(userIdentities).where(eq(userIdentities.userId, userId))
      const [keys] = await tx.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId))
      return (ids?.n ?? 0) + (keys?.n ?? 0)
    }
  }
}

/** OidcIdentities is the identity-link store. */
export type OidcIdentities = ReturnType<typeof createOidcIdentities>
