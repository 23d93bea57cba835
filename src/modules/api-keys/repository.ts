import { and, count, desc, eq, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { apiKeys, type ApiKeyRow } from './table.ts'

/** createApiKeysRepository holds the api_keys queries; every owner-facing query is scoped by user id. */
export function createApiKeysRepository (db: Database) {
  // The authentication read of every X-API-Key cache miss: built once and prepared by name.
  const byPrefix = db.select().from(apiKeys).where(eq(apiKeys.prefix, sql.placeholder('prefix'))).prepare('api_keys_find_by_prefix')
  return {
    async insert (values: typeof apiKeys.$inferInsert, tx: Database = db): Promise<ApiKeyRow> {
      const [row] = await tx.insert(apiKeys).values(values).returning()
      return row!
    },
    /** findByPrefix is the authentication lookup (the prefix is unique). */
    async findByPrefix (prefix: string): Promise<ApiKeyRow | undefined> {
      const [row] = await byPrefix.execute({ prefix })
      return row
    },
    /** findOwned returns the key only when it belongs to the user (an agent's key is managed through its agent). */
    async findOwned (userId: string, id: string): Promise<ApiKeyRow | undefined> {
      const [row] = await db.select().from(apiKeys).where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId), isNull(apiKeys.agentId)))
      return row
    },
    /** countActive counts a user's keys that are not revoked (expired ones included: they can be rotated away). */
    async countActive (userId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt), isNull(apiKeys.agentId)))
      return row?.n ?? 0
    },
    /** lockOwner serialises key creation per user inside a transaction, so the active-key cap holds under races. */
    async lockOwner (userId: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`api-keys:${userId}`}, 0))`)
    },
    /** list returns one page of the user's keys, newest first, with a keyset cursor. */
    async list (userId: string, limit: number, cursor?: Cursor): Promise<ApiKeyRow[]> {
      const where: SQL[] = [eq(apiKeys.userId, userId), isNull(apiKeys.agentId)]
      if (cursor) {
        const at = new Date(cursor.at)
        where.push(or(lt(apiKeys.createdAt, at), and(eq(apiKeys.createdAt, at), lt(apiKeys.id, cursor.id)))!)
      }
      return db.select().from(apiKeys).where(and(...where)).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id)).limit(limit + 1)
    },
    /** revoke marks a live key revoked; undefined when it is not the user's or already revoked. */
    async revoke (userId: string, id: string, tx: Database = db): Promise<ApiKeyRow | undefined> {
      const [row] = await tx.update(apiKeys).set({ revokedAt: new Date() })
        .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt), isNull(apiKeys.agentId))).returning()
      return row
    },
    /** revokeAgentKeys revokes every live key of an agent and returns them (their prefixes leave the cache). */
    async revokeAgentKeys (agentId: string, tx: Database = db): Promise<ApiKeyRow[]> {
      return tx.update(apiKeys).set({ revokedAt: new Date() })
        .where(and(eq(apiKeys.agentId, agentId), isNull(apiKeys.revokedAt))).returning()
    },
    /** revokeFrontendKeys revokes every live key of a frontend and returns them (their prefixes leave the cache). */
    async revokeFrontendKeys (frontendId: string, tx: Database = db): Promise<ApiKeyRow[]> {
      return tx.update(apiKeys).set({ revokedAt: new Date() })
        .where(and(eq(apiKeys.frontendId, frontendId), isNull(apiKeys.revokedAt))).returning()
    },
    /** replaceSecret swaps prefix and hash, only if the key is still live and unchanged since it was read. */
    async replaceSecret (userId: string, id: string, oldPrefix: string, next: { prefix: string, secretHash: string }, tx: Database = db): Promise<ApiKeyRow | undefined> {
      const [row] = await tx.update(apiKeys).set(next)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId), eq(apiKeys.prefix, oldPrefix), isNull(apiKeys.revokedAt), isNull(apiKeys.agentId))).returning()
      return row
    },
    /** touch records a use, at most once a minute whatever the number of nodes. */
    async touch (id: string): Promise<void> {
      await db.update(apiKeys).set({ lastUsedAt: sql`now()` })
        .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - interval '1 minute'`))))
    }
  }
}

/** ApiKeysRepository is the API keys module's data access. */
export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>
