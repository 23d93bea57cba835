import { and, arrayContains, desc, eq, ilike, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { Cursor } from '../../lib/cursor.ts'
import { users, type UserRow } from './table.ts'

/** UserFilter narrows the admin list. */
export interface UserFilter { q?: string, role?: string, status?: UserRow['status'], cursor?: Cursor, limit: number }

/** createUsersRepository holds the users queries. */
export function createUsersRepository (db: Database) {
  // The read behind every GET /users/me (and every principal cache miss): built once and prepared
  // by name, so a request neither rebuilds the SQL nor has PostgreSQL parse it again on a connection.
  const byId = db.select().from(users).where(eq(users.id, sql.placeholder('id'))).prepare('users_find_by_id')
  return {
    async findById (id: string, tx: Database = db): Promise<UserRow | undefined> {
      const [row] = tx === db ? await byId.execute({ id }) : await tx.select().from(users).where(eq(users.id, id))
      return row
    },
    /** findByIds returns the accounts with these ids, any status (for lists that name people). */
    async findByIds (ids: readonly string[], tx: Database = db): Promise<UserRow[]> {
      if (ids.length === 0) return []
      return tx.select().from(users).where(inArray(users.id, [...ids]))
    },
    /** findLiveByEmail returns the account (not deleted) with this normalised email. */
    async findLiveByEmail (email: string, tx: Database = db): Promise<UserRow | undefined> {
      const [row] = await tx.select().from(users).where(and(eq(users.email, email), isNull(users.deletedAt)))
      return row
    },
    async insert (values: typeof users.$inferInsert, tx: Database = db): Promise<UserRow> {
      const [row] = await tx.insert(users).values(values).returning()
      return row!
    },
    /** insertIfFree inserts the account unless a live one holds the email (then nothing, and no row back): one statement either way. */
    async insertIfFree (values: typeof users.$inferInsert, tx: Database = db): Promise<UserRow | undefined> {
      const [row] = await tx.insert(users).values(values).onConflictDoNothing().returning()
      return row
    },
    async update (id: string, values: Partial<typeof users.$inferInsert>, tx: Database = db): Promise<UserRow | undefined> {
      const [row] = await tx.update(users).set(values).where(eq(users.id, id)).returning()
      return row
    },
    /**
     * addFailedLogin adds one failed sign-in in a single statement and sets the lock once the count
     * reaches `lockAfter`; it returns the new count. Being atomic, parallel guesses are all counted
     * (a read-then-write counter let 30 parallel guesses count as 2 and never lock).
     */
    async addFailedLogin (id: string, lockAfter: number, lockUntil: Date): Promise<number> {
      // The same statements whether or not a row matches (an unknown email counts against no row,
      // AU-12), and neither commit waits for the WAL flush: a commit that wrote waited for it and one
      // that wrote nothing did not, which alone made a wrong password ~0.5 ms slower than an unknown
      // email under load (Mann-Whitney p = 0.002 on CI). A crash in the next fraction of a second may
      // lose one failure from the count.
      return db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL synchronous_commit TO OFF`)
        const [row] = await tx.update(users).set({
          failedLogins: sql`${users.failedLogins} + 1`,
          lockedUntil: sql`CASE WHEN ${users.failedLogins} + 1 >= ${lockAfter} THEN ${lockUntil.toISOString()}::timestamptz ELSE ${users.lockedUntil} END`
        }).where(eq(users.id, id)).returning({ failedLogins: users.failedLogins })
        return row?.failedLogins ?? 0
      })
    },
    /** countActiveAdmins counts live, enabled admins (to refuse removing the last one). */
    async countActiveAdmins (tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(users)
        .where(and(eq(users.status, 'active'), arrayContains(users.roles, ['admin'])))
      return row?.n ?? 0
    },
    /** list returns one page, newest first, with a keyset cursor. */
    async list (filter: UserFilter): Promise<UserRow[]> {
      const where: SQL[] = []
      if (filter.status) where.push(eq(users.status, filter.status))
      else where.push(isNull(users.deletedAt))
      if (filter.role) where.push(arrayContains(users.roles, [filter.role]))
      if (filter.q) {
        const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
        where.push(or(ilike(users.email, pattern), ilike(users.name, pattern))!)
      }
      if (filter.cursor) {
        // created_at has microseconds, the cursor's time only milliseconds: comparing with the cursor
        // time skipped every row created in the same millisecond as a page's last row (a batch of 25
        // paged by 10 showed 10). The cursor row's exact stored time is used; its cursor time only
        // when that row is gone.
        const { at, id } = filter.cursor
        const exact = sql`coalesce((select u.created_at from ${users} u where u.id = ${id}::uuid), ${at}::timestamptz)`
        where.push(sql`(${users.createdAt}, ${users.id}) < (${exact}, ${id}::uuid)`)
      }
      return db.select().from(users).where(and(...where)).orderBy(desc(users.createdAt), desc(users.id)).limit(filter.limit + 1)
    }
  }
}

/** UsersRepository is the users module's data access. */
export type UsersRepository = ReturnType<typeof createUsersRepository>
