import type { Static } from 'typebox'
import type { ApiKeySchema } from './schemas.ts'
import type { ApiKeyRow } from './table.ts'

/** ApiKey is the public view of a key. */
export type ApiKey = Static<typeof ApiKeySchema>

/** toApiKey is the only way a stored key leaves the module: never the hash. */
export function toApiKey (row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null
  }
}
