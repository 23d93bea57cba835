import { and, asc, count, eq, ne, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { KeysetPosition } from '../../lib/cursor.ts'
import { projectMembers, type ProjectMemberRow, type ProjectRole } from './table.ts'

/** createMembersRepository holds the project_members queries; every one is scoped by project id. */
export function createMembersRepository (db: Database) {
  const of = (projectId: string, userId: string) => and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId))

  return {
    async find (projectId: string, userId: string, tx: Database = db): Promise<ProjectMemberRow | undefined> {
      const [row] = await tx.select().from(projectMembers).where(of(projectId, userId))
      return row
    },
    /** roleOf returns the user's role in the project, or undefined. */
    async roleOf (projectId: string, userId: string): Promise<ProjectRole | undefined> {
      const [row] = await db.select({ role: projectMembers.role }).from(projectMembers).where(of(projectId, userId))
      return row?.role
    },
    /** insert adds a membership; undefined when the user already is a member. */
    async insert (values: { projectId: string, userId: string, role: ProjectRole }, tx: Database = db): Promise<ProjectMemberRow | undefined> {
      const [row] = await tx.insert(projectMembers).values(values).onConflictDoNothing().returning()
      return row
    },
    async setRole (projectId: string, userId: string, role: ProjectRole, tx: Database = db): Promise<ProjectMemberRow | undefined> {
      const [row] = await tx.update(projectMembers).set({ role }).where(of(projectId, userId)).returning()
      return row
    },
    async remove (projectId: string, userId: string, tx: Database = db): Promise<boolean> {
      const rows = await tx.delete(projectMembers).where(of(projectId, userId)).returning({ id: projectMembers.id })
      return rows.length > 0
    },
    async countOwners (projectId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(projectMembers)
        .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.role, 'owner')))
      return row?.n ?? 0
    },
    /** oldestOwnerExcept returns the longest-standing owner other than the given user. */
    async oldestOwnerExcept (projectId: string, userId: string, tx: Database = db): Promise<string | undefined> {
      const [row] = await tx.select({ userId: projectMembers.userId }).from(projectMembers)
        .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.role, 'owner'), ne(projectMembers.userId, userId)))
        .orderBy(asc(projectMembers.createdAt), asc(projectMembers.id)).limit(1)
      return row?.userId
    },
    /** list returns one page (plus one row) of a project's members, oldest membership first. */
    async list (projectId: string, limit: number, after?: KeysetPosition): Promise<ProjectMemberRow[]> {
      const where = [eq(projectMembers.projectId, projectId)]
      if (after) where.push(sql`(${projectMembers.createdAt}, ${projectMembers.id}) > (${after.value}::timestamptz, ${after.id}::uuid)`)
      return db.select().from(projectMembers).where(and(...where))
        .orderBy(asc(projectMembers.createdAt), asc(projectMembers.id)).limit(limit + 1)
    }
  }
}

/** MembersRepository is the projects module's data access for memberships. */
export type MembersRepository = ReturnType<typeof createMembersRepository>
