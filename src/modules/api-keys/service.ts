import type { FastifyBaseLogger } from 'fastify'
import type { Cache } from '../../platform/cache.ts'
import type { Database } from '../../platform/db.ts'
import type { DomainEvent, Events } from '../../platform/events.ts'
import type { Rbac } from '../../platform/rbac.ts'
import type { AuditContext, SecurityEvent, SecurityEvents } from '../../platform/security-events.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import type { UsersService } from '../users/index.ts'
import { apiKeyErrors } from './errors.ts'
import { hashApiKey, newApiKey, prefixOf, sameHash, type NewKey } from './key-format.ts'
import { createApiKeysRepository } from './repository.ts'
import type { ApiKeyRow } from './table.ts'
import { toApiKey, type ApiKey } from './view.ts'
import { isUniqueViolation } from '../../lib/sql-state.ts'

/** MAX_ACTIVE_KEYS caps a user's live keys, so one account cannot fill the table. */
export const MAX_ACTIVE_KEYS = 100
const TOUCH_EVERY_MS = 60_000

/**
 * CachedKey is what authentication needs about a live key, cached per node under `api-key:<prefix>`.
 * A frontend's key has no owner (userId null) and a frontendId.
 */
export interface CachedKey { id: string, userId: string | null, hash: string, scopes: string[], expiresAt: number | null, agentId?: string, frontendId?: string }

interface ApiKeysDeps {
  db: Database
  cache: Cache
  rbac: Rbac
  users: UsersService
  events: Events
  audit: SecurityEvents
  log: FastifyBaseLogger
  cursors: CursorCodec
}

// A key's owner sees its changes on their channel: the name, prefix and scopes, never the key.
const keyEvent = (type: string, row: ApiKeyRow): DomainEvent => ({
  type,
  aggregate: `api-key:${row.id}`,
  channels: [`user:${row.userId}`],
  data: { id: row.id, name: row.name, prefix: row.prefix, scopes: row.scopes }
})

// Audit rows name the key and its scopes, never the key itself.
const keyAudit = (action: string, row: ApiKeyRow): SecurityEvent => ({ action, outcome: 'success', targetType: 'api-key', targetId: row.id, details: { name: row.name, scopes: row.scopes } })

/** createApiKeysService holds the key rules: owner-only access, scopes within the owner's permissions, shown-once secrets. */
export function createApiKeysService ({ db, cache, rbac, users, events, audit, log, cursors }: ApiKeysDeps) {
  const repo = createApiKeysRepository(db)
  const cacheKey = (prefix: string) => `api-key:${prefix}`
  // When each key was last written as used by this node; the SQL guard makes it once a minute across nodes too.
  const touched = new Map<string, number>()
  const pending = new Set<Promise<void>>()

  async function forget (...prefixes: string[]): Promise<void> {
    await cache.deleteMany({ keys: prefixes.map(cacheKey) })
  }

  async function checkScopes (userId: string, scopes: readonly string[]): Promise<void> {
    const principal = await users.principal(userId)
    const held = rbac.permissionsOf(principal?.roles ?? [])
    const missing = scopes.find((s) => !held.has(s))
    if (missing !== undefined) throw apiKeyErrors.API_KEY_SCOPE_NOT_HELD(`You do not hold the permission ${missing}; a key's scopes must be a subset of your permissions`)
  }

  // The 8-character prefix has ~41 bits: a collision is rare but possible, so a clash is retried with a fresh key.
  async function withFreshKey<T> (write: (key: NewKey) => Promise<T>): Promise<{ key: NewKey, result: T }> {
    for (let attempt = 1; ; attempt++) {
      const key = newApiKey()
      try {
        return { key, result: await write(key) }
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 3) throw err
      }
    }
  }

  async function owned (userId: string, id: string): Promise<ApiKeyRow> {
    const row = await repo.findOwned(userId, id)
    if (!row) throw apiKeyErrors.API_KEY_NOT_FOUND()
    return row
  }

  return {
    /** create makes a key for the user, audited as `context`, and returns it with its secret, the only time the secret is shown. */
    async create (userId: string, input: { name: string, scopes: string[], expiresAt?: string }, context: AuditContext): Promise<ApiKey & { key: string }> {
      const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt)
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw apiKeyErrors.API_KEY_EXPIRY_PAST()
      await checkScopes(userId, input.scopes)
      const { key, result: row } = await withFreshKey((k) => db.transaction(async (tx) => {
        await repo.lockOwner(userId, tx)
        if ((await repo.countActive(userId, tx)) >= MAX_ACTIVE_KEYS) throw apiKeyErrors.API_KEY_LIMIT()
        const row = await repo.insert({ userId, name: input.name, scopes: input.scopes, expiresAt, prefix: k.prefix, secretHash: k.hash }, tx)
        await events.record(keyEvent('api_key.created', row), tx)
        await audit.record(context, keyAudit('api_key.created', row), tx)
        return row
      }))
      // A probe of this prefix before it existed may have cached "no such key".
      await forget(key.prefix)
      return { ...toApiKey(row), key: key.key }
    },

    async list (userId: string, query: { limit: number, cursor?: string }) {
      const list = `api-keys:${userId}`
      return cursors.pageOf(list, await repo.list(userId, query.limit, cursors.after(list, query.cursor)), query.limit, toApiKey)
    },

    get: async (userId: string, id: string): Promise<ApiKey> => toApiKey(await owned(userId, id)),

    /** revoke ends a key at once on every node, audited as `context`; revoking a revoked key changes nothing. */
    async revoke (userId: string, id: string, context: AuditContext): Promise<{ key: ApiKey, changed: boolean }> {
      const row = await db.transaction(async (tx) => {
        const row = await repo.revoke(userId, id, tx)
        if (row) {
          await events.record(keyEvent('api_key.revoked', row), tx)
          await audit.record(context, keyAudit('api_key.revoked', row), tx)
        }
        return row
      })
      if (!row) return { key: toApiKey(await owned(userId, id)), changed: false }
      await forget(row.prefix)
      return { key: toApiKey(row), changed: true }
    },

    /** rotate gives a live key a new prefix and secret, audited as `context`; the old key stops working at once. */
    async rotate (userId: string, id: string, context: AuditContext): Promise<ApiKey & { key: string }> {
      const before = await owned(userId, id)
      if (before.revokedAt) throw apiKeyErrors.API_KEY_REVOKED()
      if (before.expiresAt && before.expiresAt.getTime() <= Date.now()) throw apiKeyErrors.API_KEY_EXPIRED()
      const { key, result: row } = await withFreshKey((k) => db.transaction(async (tx) => {
        const row = await repo.replaceSecret(userId, id, before.prefix, { prefix: k.prefix, secretHash: k.hash }, tx)
        if (row) {
          await events.record(keyEvent('api_key.rotated', row), tx)
          await audit.record(context, keyAudit('api_key.rotated', row), tx)
        }
        return row
      }))
      if (!row) {
        const now = await owned(userId, id)
        throw now.revokedAt ? apiKeyErrors.API_KEY_REVOKED() : apiKeyErrors.API_KEY_CHANGED()
      }
      await forget(before.prefix, key.prefix)
      return { ...toApiKey(row), key: key.key }
    },

    /**
     * issueAgentKey revokes the agent's live keys and makes a new one bound to it (registration and
     * rotation): owned by the user who manages the agent, acting with the agent role only. Runs in
     * the caller's transaction; the secret is returned once.
     */
    async issueAgentKey (ownerId: string, agentId: string, name: string, tx: Database): Promise<{ id: string, prefix: string, key: string, revokedPrefixes: string[] }> {
      const revoked = await repo.revokeAgentKeys(agentId, tx)
      const k = newApiKey()
      const row = await repo.insert({ userId: ownerId, name, scopes: [], prefix: k.prefix, secretHash: k.hash, agentId }, tx)
      return { id: row.id, prefix: row.prefix, key: k.key, revokedPrefixes: [...revoked.map((r) => r.prefix), k.prefix] }
    },

    /** revokeAgentKeys ends an agent's credentials (the agent is disabled or deleted) and returns their prefixes. */
    async revokeAgentKeys (agentId: string, tx: Database): Promise<string[]> {
      return (await repo.revokeAgentKeys(agentId, tx)).map((r) => r.prefix)
    },

    /**
     * issueFrontendKey revokes the frontend's live keys and makes a new one bound to it (creation and
     * rotation). It has no owner and no scopes: a public client id that grants no permission. Runs in
     * the caller's transaction; the key is returned once.
     */
    async issueFrontendKey (frontendId: string, name: string, tx: Database): Promise<{ id: string, prefix: string, key: string, revokedPrefixes: string[] }> {
      const revoked = await repo.revokeFrontendKeys(frontendId, tx)
      const k = newApiKey()
      const row = await repo.insert({ userId: null, name, scopes: [], prefix: k.prefix, secretHash: k.hash, frontendId }, tx)
      return { id: row.id, prefix: row.prefix, key: k.key, revokedPrefixes: [...revoked.map((r) => r.prefix), k.prefix] }
    },

    /** revokeFrontendKeys ends a frontend's keys (it is deleted) and returns their prefixes. */
    async revokeFrontendKeys (frontendId: string, tx: Database): Promise<string[]> {
      return (await repo.revokeFrontendKeys(frontendId, tx)).map((r) => r.prefix)
    },

    /** forgetPrefixes drops cached key lookups on every node; call it after the transaction that changed them commits. */
    forgetPrefixes: async (prefixes: string[]): Promise<void> => { if (prefixes.length) await forget(...prefixes) },

    /** lookup returns the live key with this prefix through the cache; revoked and unknown keys give undefined. */
    async lookup (prefix: string): Promise<CachedKey | undefined> {
      const value = await cache.getOrSet({
        key: cacheKey(prefix),
        ttl: '10s',
        factory: async (): Promise<CachedKey | null> => {
          const row = await repo.findByPrefix(prefix)
          if (!row || row.revokedAt) return null
          return {
            id: row.id,
            userId: row.userId,
            hash: row.secretHash,
            scopes: row.scopes,
            expiresAt: row.expiresAt?.getTime() ?? null,
            ...(row.agentId ? { agentId: row.agentId } : {}),
            ...(row.frontendId ? { frontendId: row.frontendId } : {})
          }
        }
      })
      return value ?? undefined
    },

    /** verify returns the live, unexpired key a presented `bp_` string is, or undefined (malformed, unknown, wrong secret). */
    async verify (presented: string): Promise<CachedKey | undefined> {
      const prefix = prefixOf(presented)
      if (prefix === undefined) return undefined
      const key = await this.lookup(prefix)
      if (!key || !sameHash(key.hash, hashApiKey(presented))) return undefined
      if (key.expiresAt !== null && key.expiresAt <= Date.now()) return undefined
      return key
    },

    /** touch records that a key was used, without waiting for the write and at most once a minute per key. */
    touch (id: string): void {
      const now = Date.now()
      if (now - (touched.get(id) ?? 0) < TOUCH_EVERY_MS) return
      if (touched.size >= 10_000) {
        for (const [k, at] of touched) if (now - at >= TOUCH_EVERY_MS) touched.delete(k)
      }
      touched.set(id, now)
      const write = repo.touch(id)
        .catch((err: unknown) => { log.warn({ err: { message: (err as Error).message } }, 'could not record API key use') })
        .finally(() => { pending.delete(write) })
      pending.add(write)
    },

    /** settle waits for the use records still being written (the app closes after them). */
    settle: async (): Promise<void> => { await Promise.all([...pending]) }
  }
}

/** ApiKeysService is the API keys module's service. */
export type ApiKeysService = ReturnType<typeof createApiKeysService>
