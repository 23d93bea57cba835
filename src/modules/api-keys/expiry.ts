import { sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import { apiKeys } from './table.ts'

const DAY_MS = 86_400_000
const BATCH = 500

/**
 * createExpiryNotices finds a user's live keys that expire within `days` and records
 * `api_key.expiring` for each, once per key: the same statement marks the key, so any number of
 * nodes sweeping at once tell each owner once, and the event commits with the mark or not at all.
 */
export function createExpiryNotices ({ db, events, days }: { db: Database, events: Events, days: number }) {
  return {
    /** notifyExpiring runs one sweep at `now`; returns how many keys it announced. */
    async notifyExpiring (now = new Date()): Promise<number> {
      const horizon = new Date(now.getTime() + days * DAY_MS)
      return db.transaction(async (tx) => {
        const rows = (await tx.execute<{ id: string, user_id: string, name: string, prefix: string, expires_at: Date | string }>(sql`
          UPDATE ${apiKeys} SET expiry_notice_at = ${now.toISOString()}, updated_at = now()
          WHERE id IN (
            SELECT id FROM ${apiKeys}
            WHERE expiry_notice_at IS NULL AND revoked_at IS NULL AND user_id IS NOT NULL AND agent_id IS NULL
              AND expires_at > ${now.toISOString()} AND expires_at <= ${horizon.toISOString()}
            ORDER BY expires_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
          RETURNING id, user_id, name, prefix, expires_at`)).rows
        for (const r of rows) {
          await events.record({
            type: 'api_key.expiring',
            aggregate: `api-key:${r.id}`,
            channels: [`user:${r.user_id}`],
            data: { id: r.id, userId: r.user_id, name: r.name, prefix: r.prefix, expiresAt: new Date(r.expires_at).toISOString() }
          }, tx)
        }
        return rows.length
      })
    }
  }
}
