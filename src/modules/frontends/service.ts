import type { Database } from '../../platform/db.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import { isUniqueViolation } from '../../lib/sql-state.ts'
import type { ApiKeysService } from '../api-keys/index.ts'
import { frontendErrors } from './errors.ts'
import { canonicalOrigins } from './origin.ts'
import { createFrontendsRepository, type FrontendChanges, type FrontendInsert } from './repository.ts'
import { planSync, type SyncDetection, type SyncEntry } from './sync.ts'
import type { FrontendRow, FrontendSource } from './table.ts'
import { toFrontend, type Frontend } from './view.ts'

/** MAX_FRONTENDS bounds the registry: every node holds it in memory and checks origins against it. */
export const MAX_FRONTENDS = 500

interface FrontendsDeps {
  db: Database
  apiKeys: Pick<ApiKeysService, 'issueFrontendKey' | 'revokeFrontendKeys' | 'forgetPrefixes'>
  audit: SecurityEvents
  /** rateTiers are FRONTEND_RATE_TIERS: a frontend's tier must be one of them. */
  rateTiers: Readonly<Record<string, number>>
  /** onChanged runs after every committed change: the registry reloads here and tells the other nodes. */
  onChanged: () => Promise<void>
  cursors: CursorCodec
}

/** CreateFrontendInput is a frontend added by hand. */
export interface CreateFrontendInput {
  name: string
  framework?: string
  origins?: string[]
  rateTier?: string
  pathPrefix?: string
  enabled?: boolean
}

/** UpdateFrontendInput is what an admin may change; the name stays. */
export interface UpdateFrontendInput {
  framework?: string | null
  origins?: string[]
  rateTier?: string
  pathPrefix?: string | null
  enabled?: boolean
}

/**
 * defaultChannelNamespace is where a frontend's realtime channels live: `frontend:<name>`. It follows
 * the name and is not settable, because the realtime hub authorises `frontend:<name>:<topic>` by the
 * name in the token's audience: any other namespace would be shown to admins and enforced nowhere.
 */
export const defaultChannelNamespace = (name: string): string => `frontend:${name}`

/** createFrontendsService holds the registry rules: admin-managed frontends, shown-once keys, sync with a workspace. */
export function createFrontendsService ({ db, apiKeys, audit, rateTiers, onChanged, cursors }: FrontendsDeps) {
  // Audit rows name the frontend and what changed, never its key; written in the change's transaction.
  const audited = (context: AuditContext, action: string, row: FrontendRow, details: Record<string, unknown>, tx: Database) =>
    audit.record(context, { action, outcome: 'success', targetType: 'frontend', targetId: row.id, details: { name: row.name, ...details } }, tx)
  const repo = createFrontendsRepository(db)

  function checkTier (tier: string): void {
    if (!Object.hasOwn(rateTiers, tier)) throw frontendErrors.FRONTEND_RATE_TIER_UNKNOWN(`Unknown rate tier "${tier}"; FRONTEND_RATE_TIERS defines ${Object.keys(rateTiers).join(', ')}`)
  }

  async function found (id: string): Promise<FrontendRow> {
    const row = await repo.find(id)
    if (!row) throw frontendErrors.FRONTEND_NOT_FOUND()
    return row
  }

  // Inserts a frontend and its first key in the caller's transaction (which holds the registry lock).
  async function insertWithKey (values: FrontendInsert, tx: Database): Promise<{ row: FrontendRow, key: string, prefixes: string[] }> {
    if ((await repo.count(tx)) >= MAX_FRONTENDS) throw frontendErrors.FRONTEND_LIMIT()
    let row: FrontendRow
    try {
      row = await repo.insert(values, tx)
    } catch (err) {
      if (isUniqueViolation(err)) throw frontendErrors.FRONTEND_NAME_TAKEN()
      throw err
    }
    const issued = await apiKeys.issueFrontendKey(row.id, `frontend ${row.name}`, tx)
    row = (await repo.update(row.id, { apiKeyId: issued.id }, tx))!
    return { row, key: issued.key, prefixes: issued.revokedPrefixes }
  }

  // Caches first (a probe may have cached "no such key"), then the registry everywhere.
  async function committed (prefixes: string[]): Promise<void> {
    await apiKeys.forgetPrefixes(prefixes)
    await onChanged()
  }

  return {
    /** create registers a frontend by hand with its key, which is returned this once. */
    async create (input: CreateFrontendInput, context: AuditContext): Promise<{ frontend: Frontend, apiKey: string }> {
      const origins = canonicalOrigins(input.origins ?? [])
      const rateTier = input.rateTier ?? 'default'
      checkTier(rateTier)
      const created = await db.transaction(async (tx) => {
        await repo.lockRegistry(tx)
        const created = await insertWithKey({
          name: input.name,
          framework: input.framework ?? null,
          origins,
          rateTier,
          pathPrefix: input.pathPrefix ?? null,
          channelNamespace: defaultChannelNamespace(input.name),
          enabled: input.enabled ?? true,
          source: 'manual'
        }, tx)
        await audited(context, 'frontend.created', created.row, { origins: created.row.origins, enabled: created.row.enabled }, tx)
        return created
      })
      await committed(created.prefixes)
      return { frontend: toFrontend(created.row), apiKey: created.key }
    },

    async list (query: { limit: number, cursor?: string, enabled?: boolean, source?: FrontendSource }) {
      const cursor = cursors.after('frontends', query.cursor)
      return cursors.pageOf('frontends', await repo.list({ enabled: query.enabled, source: query.source }, query.limit, cursor), query.limit, toFrontend)
    },

    get: async (id: string): Promise<Frontend> => toFrontend(await found(id)),

    /** update changes a frontend; enabling or disabling it reaches every node's CORS list and key check at once. */
    async update (id: string, input: UpdateFrontendInput, context: AuditContext): Promise<{ frontend: Frontend, before: Frontend }> {
      const before = await found(id)
      if (input.rateTier !== undefined) checkTier(input.rateTier)
      const changes: FrontendChanges = {}
      if (input.framework !== undefined) changes.framework = input.framework
      if (input.origins !== undefined) changes.origins = canonicalOrigins(input.origins)
      if (input.rateTier !== undefined) changes.rateTier = input.rateTier
      if (input.pathPrefix !== undefined) changes.pathPrefix = input.pathPrefix
      if (input.enabled !== undefined) {
        changes.enabled = input.enabled
        // An admin's decision wins over the sync's: a frontend enabled or disabled by hand is no longer "missing".
        changes.missingSince = null
      }
      const row = await db.transaction(async (tx) => {
        const row = await repo.update(id, changes, tx)
        if (!row) throw frontendErrors.FRONTEND_NOT_FOUND()
        const action = before.enabled === row.enabled ? 'frontend.updated' : row.enabled ? 'frontend.enabled' : 'frontend.disabled'
        await audited(context, action, row, { fields: Object.keys(input), ...(input.origins ? { origins: row.origins } : {}) }, tx)
        return row
      })
      await committed([])
      return { frontend: toFrontend(row), before: toFrontend(before) }
    },

    /** remove deletes a frontend and its key (refused at once on every node); sync disables instead, an admin may delete. */
    async remove (id: string, context: AuditContext): Promise<Frontend> {
      const { row, prefixes } = await db.transaction(async (tx) => {
        await repo.lockRegistry(tx)
        const prefixes = await apiKeys.revokeFrontendKeys(id, tx)
        const row = await repo.remove(id, tx)
        if (!row) throw frontendErrors.FRONTEND_NOT_FOUND()
        await audited(context, 'frontend.deleted', row, {}, tx)
        return { row, prefixes }
      })
      await committed(prefixes)
      return toFrontend(row)
    },

    /** rotateKey gives a frontend a new key (returned this once); the old one is refused at once on every node. */
    async rotateKey (id: string, context: AuditContext): Promise<{ frontend: Frontend, apiKey: string }> {
      const { row, key, prefixes } = await db.transaction(async (tx) => {
        const before = await repo.find(id, tx)
        if (!before) throw frontendErrors.FRONTEND_NOT_FOUND()
        const issued = await apiKeys.issueFrontendKey(id, `frontend ${before.name}`, tx)
        const row = await repo.update(id, { apiKeyId: issued.id }, tx)
        await audited(context, 'frontend.key_rotated', row!, {}, tx)
        return { row: row!, key: issued.key, prefixes: issued.revokedPrefixes }
      })
      await committed(prefixes)
      return { frontend: toFrontend(row), apiKey: key }
    },

    /** snapshot reads the whole registry for the in-memory runtime copy. */
    snapshot: async (): Promise<FrontendRow[]> => repo.all(),

    /**
     * sync records a workspace detection: new frontends are created (with a key shown once), changed
     * ones updated (origins, framework, folder), ones no longer found under the scanned folder are
     * disabled — never deleted — and enabled again when they come back. Frontends added by hand are
     * left alone. Running it twice on the same workspace changes nothing.
     */
    async sync (detection: SyncDetection): Promise<SyncEntry[]> {
      const { entries, prefixes, changed } = await db.transaction(async (tx) => {
        await repo.lockRegistry(tx)
        const plan = planSync(await repo.all(tx), detection, new Date())
        const prefixes: string[] = []
        for (const entry of plan) {
          if (entry.create) {
            const created = await insertWithKey(entry.create, tx)
            entry.id = created.row.id
            entry.apiKey = created.key
            prefixes.push(...created.prefixes)
          } else if (entry.update) {
            await repo.update(entry.update.id, entry.update.changes, tx)
          }
        }
        return { entries: plan, prefixes, changed: plan.some((e) => e.create !== undefined || e.update !== undefined) }
      })
      if (changed) await committed(prefixes)
      return entries.map(({ create: _c, update: _u, ...entry }) => entry)
    }
  }
}

/** FrontendsService is the frontends module's service. */
export type FrontendsService = ReturnType<typeof createFrontendsService>
