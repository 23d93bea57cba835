import { sql } from 'drizzle-orm'
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'

/** FRONTEND_SOURCES: found by `backplane frontends sync` in a workspace, or added by an admin. */
export const FRONTEND_SOURCES = ['detected', 'manual'] as const
/** FrontendSource is one of FRONTEND_SOURCES. */
export type FrontendSource = typeof FRONTEND_SOURCES[number]

/**
 * frontends are the registered client apps: their browser origins join the CORS allow-list while
 * enabled, and their key (an API key bound to the frontend, a public client id) attributes requests.
 */
export const frontends = pgTable('frontends', {
  ...baseColumns(),
  name: text('name').notNull(),
  framework: text('framework'),
  /** origins are the exact browser origins the frontend is served from (its CORS allow-list entries). */
  origins: text('origins').array().notNull().default(sql`ARRAY[]::text[]`),
  /** detectedOrigins are the origins the last sync found, so origins an admin added survive the next sync. */
  detectedOrigins: text('detected_origins').array().notNull().default(sql`ARRAY[]::text[]`),
  /** apiKeyId is the frontend's live key (an API key bound to the frontend). */
  apiKeyId: uuid('api_key_id'),
  rateTier: text('rate_tier').notNull().default('default'),
  pathPrefix: text('path_prefix'),
  channelNamespace: text('channel_namespace').notNull(),
  enabled: boolean('enabled').notNull().default(true),
  source: text('source', { enum: FRONTEND_SOURCES }).notNull(),
  /** detectedPath is the absolute folder a detected frontend was found in. */
  detectedPath: text('detected_path'),
  /** missingSince is set when a sync no longer finds a detected frontend (and disabled it); it re-enables on return. */
  missingSince: timestamp('missing_since', { withTimezone: true, precision: 3 })
}, (t) => [
  uniqueIndex('frontends_name_unique').on(t.name),
  index('frontends_created_idx').on(t.createdAt, t.id)
])

/** FrontendRow is a stored frontend. */
export type FrontendRow = typeof frontends.$inferSelect
