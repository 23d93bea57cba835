import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { ConfigSchema, SECRET_KEYS } from '../../config.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'

/** SettingSchema is one effective setting: its value as used (secrets masked) and where it came from. */
export const SettingSchema = Type.Object({
  name: Type.String({ maxLength: 100 }),
  value: Type.String({ maxLength: 16384, description: 'As used; a secret is `****`, a URL keeps everything but its password' }),
  source: Type.String({ maxLength: 50, description: '`default`, `environment`, `.env` or `backplane.yaml`' }),
  secret: Type.Boolean(),
  description: Type.String({ maxLength: 500 })
}, { additionalProperties: false })

/** SettingListSchema is every setting that has a value, by name. */
export const SettingListSchema = Type.Object({ items: Type.Array(SettingSchema, { maxItems: 500 }) }, { additionalProperties: false })

const properties = ConfigSchema.properties as Record<string, { description?: string }>

/** settingsRoutes show admins the effective configuration (the same view as `backplane config`), read-only. */
export const settingsRoutes: FastifyPluginAsync = async (app) => {
  // The settings are frozen at start-up: the list is built once.
  const items = Object.entries(app.config.effective).map(([name, { value, from }]) => ({
    name, value, source: from, secret: SECRET_KEYS.has(name), description: properties[name]?.description ?? ''
  }))
  app.get('/api/v1/admin/settings', {
    config: { access: 'settings:read' },
    schema: {
      tags: ['admin'],
      operationId: 'listSettings',
      summary: 'The effective settings of the node that answers, secrets masked, with where each value came from',
      response: { 200: SettingListSchema, 401: ProblemSchema, 403: ProblemSchema }
    }
  }, async () => ({ items }))
}
