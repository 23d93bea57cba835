import { inArray } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { instanceSettings } from './table.ts'

/** createInstanceRepository holds the instance settings queries. */
export function createInstanceRepository (db: Database) {
  return {
    /** findMany returns the stored values of the given keys. */
    async findMany (keys: string[]): Promise<Map<string, unknown>> {
      const rows = await db.select({ key: instanceSettings.key, value: instanceSettings.value })
        .from(instanceSettings).where(inArray(instanceSettings.key, keys))
      return new Map(rows.map((r) => [r.key, r.value]))
    },
    /** insertIfAbsent stores a value only when the key has none yet (never overwrites). */
    async insertIfAbsent (key: string, value: unknown): Promise<void> {
      await db.insert(instanceSettings).values({ key, value }).onConflictDoNothing({ target: instanceSettings.key })
    }
  }
}
