import { and, desc, eq, gte, like, lt, or, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { auditEvents, type AuditInsert, type AuditRow } from './table.ts'

/** AuditFilter narrows the admin query; `action` ending in `*` is a prefix. */
export interface AuditFilter {
  actorId?: string
  action?: string
  outcome?: AuditRow['outcome']
  targetType?: string
  targetId?: string
  from?: Date
  to?: Date
  cursor?: Cursor
  limit: number
}

/** createAuditRepository holds the audit queries: insert and read, never update or delete. */
export function createAuditRepository (db: Database) {
  return {
    /** insertMany stores rows, in the caller's transaction when given one. */
    async insertMany (rows: AuditInsert[], tx: Database = db): Promise<void> {
      if (rows.length > 0) await tx.insert(auditEvents).values(rows)
    },
    /** list returns one page (plus one row to tell whether there is a next), newest first, by keyset. */
    async list (filter: AuditFilter): Promise<AuditRow[]> {
      const where: SQL[] = []
      if (filter.actorId) where.push(eq(auditEvents.actorId, filter.actorId))
      if (filter.action?.endsWith('*')) {
        // `_` and `%` are LIKE wildcards: escaped so `user.roles_changed*` means what it says.
        const prefix = filter.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)
        where.push(like(auditEvents.action, `${prefix}%`))
      } else if (filter.action) {
        where.push(eq(auditEvents.action, filter.action))
      }
      if (filter.outcome) where.push(eq(auditEvents.outcome, filter.outcome))
      if (filter.targetType) where.push(eq(auditEvents.targetType, filter.targetType))
      if (filter.targetId) where.push(eq(auditEvents.targetId, filter.targetId))
      if (filter.from) where.push(gte(auditEvents.createdAt, filter.from))
      if (filter.to) where.push(lt(auditEvents.createdAt, filter.to))
      if (filter.cursor) {
        const at = new Date(filter.cursor.at)
        where.push(or(lt(auditEvents.createdAt, at), and(eq(auditEvents.createdAt, at), lt(auditEvents.id, filter.cursor.id)))!)
      }
      return db.select().from(auditEvents).where(and(...where))
        .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id)).limit(filter.limit + 1)
    }
  }
}

/** AuditRepository is the audit module's data access. */
export type AuditRepository = ReturnType<typeof createAuditRepository>
