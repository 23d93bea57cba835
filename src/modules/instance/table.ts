import { jsonb, pgTable, text } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'

/** instanceSettings holds instance-wide key/value settings (the instance id and name first). */
export const instanceSettings = pgTable('instance_settings', {
  ...baseColumns(),
  key: text('key').notNull().unique(),
  value: jsonb('value').notNull()
})
