import { and, asc, count, desc, eq, sql, type Placeholder, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { KeysetPosition } from '../../lib/cursor.ts'
import type { ProjectSort } from './schemas.ts'
import { projectMembers, projects, type ProjectRole, type ProjectRow } from './table.ts'

/** Project is a stored project without its search vector: what services and other modules work with. */
export type Project = Omit<ProjectRow, 'search'>

/** ProjectWithRole is a project and the membership role of the user it was read for (null: not a member). */
export interface ProjectWithRole { project: Project, role: ProjectRole | null }

/** ProjectFilter is one page request of the project list, already authorised and parsed. */
export interface ProjectFilter {
  userId: string
  /** all lists every project (project:admin); otherwise only those the user is a member of. */
  all: boolean
  sort: ProjectSort
  limit: number
  after?: KeysetPosition
  search?: SQL
  role?: ProjectRole
  ownerId?: string
}

// Every column but the generated search vector, which no reader needs.
const columns = {
  id: projects.id,
  name: projects.name,
  description: projects.description,
  ownerId: projects.ownerId,
  createdAt: projects.createdAt,
  updatedAt: projects.updatedAt
}

function split ({ role, ...project }: Project & { role: ProjectRole | null }): ProjectWithRole {
  return { project, role }
}

/** createProjectsRepository holds the projects queries; every member-facing read joins the caller's membership. */
export function createProjectsRepository (db: Database) {
  const memberOn = (userId: string | Placeholder) => and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, userId))
  // The read behind every project access check outside a transaction (GET /projects/:id and the
  // routes under it): built once and prepared by name, not rebuilt and re-parsed per request.
  const withRole = db.select({ ...columns, role: projectMembers.role }).from(projects)
    .leftJoin(projectMembers, memberOn(sql.placeholder('userId'))).where(eq(projects.id, sql.placeholder('id')))
    .prepare('projects_find_with_role')

  return {
    /** insertWithOwner stores a project and its owner's membership (call it inside a transaction). */
    async insertWithOwner (values: { name: string, description: string, ownerId: string }, tx: Database): Promise<Project> {
      const [project] = await tx.insert(projects).values(values).returning(columns)
      await tx.insert(projectMembers).values({ projectId: project!.id, userId: values.ownerId, role: 'owner' })
      return project!
    },
    /** lockOwner serialises project creation per user inside a transaction, so the ownership cap holds under races. */
    async lockOwner (userId: string, tx: Database): Promise<void> {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`projects:${userId}`}, 0))`)
    },
    async countOwned (userId: string, tx: Database = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(projects).where(eq(projects.ownerId, userId))
      return row?.n ?? 0
    },
    /**
     * findWithRole reads a project and the user's role in it; `lock` takes the project row's lock
     * (inside a transaction), so membership changes and deletion of one project run one at a time.
     */
    async findWithRole (id: string, userId: string, { tx = db, lock = false }: { tx?: Database, lock?: boolean } = {}): Promise<ProjectWithRole | undefined> {
      if (tx === db && !lock) {
        const [row] = await withRole.execute({ id, userId })
        return row ? split(row) : undefined
      }
      const query = tx.select({ ...columns, role: projectMembers.role }).from(projects).leftJoin(projectMembers, memberOn(userId)).where(eq(projects.id, id))
      const [row] = lock ? await query.for('update', { of: projects }) : await query
      return row ? split(row) : undefined
    },
    async update (id: string, changes: { name?: string, description?: string }, tx: Database = db): Promise<Project | undefined> {
      const [row] = await tx.update(projects).set(changes).where(eq(projects.id, id)).returning(columns)
      return row
    },
    /** setOwner names the project's primary owner (kept on a member who holds the owner role). */
    async setOwner (id: string, userId: string, tx: Database): Promise<void> {
      await tx.update(projects).set({ ownerId: userId }).where(eq(projects.id, id))
    },
    /** delete removes the project; its memberships, tasks and agents go with it, executions keep a null project. */
    async delete (id: string, tx: Database): Promise<boolean> {
      const rows = await tx.delete(projects).where(eq(projects.id, id)).returning({ id: projects.id })
      return rows.length > 0
    },
    /** list returns one page (plus one row, to know there is a next page) in the requested order. */
    async list (f: ProjectFilter): Promise<ProjectWithRole[]> {
      const where: SQL[] = []
      // A left join filtered on the member's user id is an inner join: only the user's projects.
      if (!f.all) where.push(eq(projectMembers.userId, f.userId))
      if (f.role) where.push(eq(projectMembers.role, f.role))
      if (f.ownerId) where.push(eq(projects.ownerId, f.ownerId))
      if (f.search) where.push(sql`${projects.search} @@ ${f.search}`)
      const descending = f.sort.startsWith('-')
      const byName = f.sort.endsWith('name')
      const key = byName ? projects.name : projects.createdAt
      if (f.after) {
        const value = byName ? sql`${f.after.value}::text` : sql`${f.after.value}::timestamptz`
        where.push(descending
          ? sql`(${key}, ${projects.id}) < (${value}, ${f.after.id}::uuid)`
          : sql`(${key}, ${projects.id}) > (${value}, ${f.after.id}::uuid)`)
      }
      const order = descending ? [desc(key), desc(projects.id)] : [asc(key), asc(projects.id)]
      const rows = await db.select({ ...columns, role: projectMembers.role }).from(projects)
        .leftJoin(projectMembers, memberOn(f.userId))
        .where(and(...where)).orderBy(...order).limit(f.limit + 1)
      return rows.map(split)
    },
    /** memberProjectIds returns the ids of the projects the user is a member of. */
    async memberProjectIds (userId: string): Promise<string[]> {
      const rows = await db.select({ id: projectMembers.projectId }).from(projectMembers).where(eq(projectMembers.userId, userId))
      return rows.map((r) => r.id)
    }
  }
}

/** ProjectsRepository is the projects module's data access for projects. */
export type ProjectsRepository = ReturnType<typeof createProjectsRepository>
