import type { Static } from 'typebox'
import type { FrontendSchema } from './schemas.ts'
import type { FrontendRow } from './table.ts'

/** Frontend is the public view of a registered frontend. */
export type Frontend = Static<typeof FrontendSchema>

/** toFrontend is the only way a stored frontend leaves the module. */
export function toFrontend (row: FrontendRow): Frontend {
  return {
    id: row.id,
    name: row.name,
    framework: row.framework,
    origins: row.origins,
    rateTier: row.rateTier,
    pathPrefix: row.pathPrefix,
    channelNamespace: row.channelNamespace,
    enabled: row.enabled,
    source: row.source,
    detectedPath: row.detectedPath,
    missingSince: row.missingSince?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}
