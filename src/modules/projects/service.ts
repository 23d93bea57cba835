import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import type { Events } from '../../platform/events.ts'
import { createAccessCheck, isProjectAdmin } from './access.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import { projectErrors } from './errors.ts'
import { projectEvent } from './events.ts'
import { createMembersRepository } from './members-repository.ts'
import { createProjectsRepository, type Project } from './repository.ts'
import type { ProjectListQuery, ProjectView } from './schemas.ts'
import { projectSearchQuery } from './search.ts'
import type { ProjectRole } from './table.ts'
import { toProjectView } from './view.ts'

export type { Project } from './repository.ts'
export type { ProjectRole } from './table.ts'

/** MAX_OWNED_PROJECTS caps the projects one user owns, so one account cannot fill the table. */
export const MAX_OWNED_PROJECTS = 1000

interface ProjectsDeps {
  audit: SecurityEvents
  db: Database
  events: Events
  cursors: CursorCodec
  maxOwnedProjects?: number
}

/** createProjectsService holds the project rules: membership-scoped reads, role-checked writes, one owner at least. */
export function createProjectsService ({ db, events, audit, cursors, maxOwnedProjects = MAX_OWNED_PROJECTS }: ProjectsDeps) {
  const repo = createProjectsRepository(db)
  const members = createMembersRepository(db)
  const check = createAccessCheck(repo)

  return {
    /**
     * requireAccess resolves the caller's access to a project: 404 PROJECT_NOT_FOUND when it does
     * not exist or the caller is not a member (and lacks project:admin), 403 PROJECT_ROLE_REQUIRED
     * when the member's role is below `need`. `role` is the membership role when it suffices, else `admin`.
     */
    async requireAccess (actor: Actor, projectId: string, need: ProjectRole): Promise<{ project: Project, role: ProjectRole | 'admin' }> {
      const { project, role } = await check(actor, projectId, need)
      return { project, role }
    },

    /** visibleProjectIds returns the ids of the projects the actor is a member of, or 'all' for project:admin. */
    async visibleProjectIds (actor: Actor): Promise<string[] | 'all'> {
      return isProjectAdmin(actor) ? 'all' : repo.memberProjectIds(actor.userId)
    },

    /** roleOf returns the user's role in the project, or undefined. */
    roleOf: (userId: string, projectId: string): Promise<ProjectRole | undefined> => members.roleOf(projectId, userId),

    /** create stores a project with the caller as its owner, in one transaction, within the ownership cap. */
    async create (actor: Actor, input: { name: string, description?: string }, context: AuditContext): Promise<ProjectView> {
      const project = await db.transaction(async (tx) => {
        await repo.lockOwner(actor.userId, tx)
        if ((await repo.countOwned(actor.userId, tx)) >= maxOwnedProjects) throw projectErrors.PROJECT_LIMIT()
        const project = await repo.insertWithOwner({ name: input.name, description: input.description ?? '', ownerId: actor.userId }, tx)
        await events.record(projectEvent('project.created', project), tx)
        await audit.record(context, { action: 'project.created', outcome: 'success', targetType: 'project', targetId: project.id, details: { name: project.name } }, tx)
        return project
      })
      return toProjectView(project, 'owner')
    },

    /** list pages the projects the caller can see, in the requested order, filtered and searched. */
    async list (actor: Actor, query: ProjectListQuery): Promise<{ items: ProjectView[], nextCursor: string | null }> {
      // The cursor is signed for this sort and this caller: one from another list is refused.
      const scope = `projects:${query.sort}:${actor.userId}`
      const after = cursors.read(scope, query.cursor)
      const rows = await repo.list({
        userId: actor.userId,
        all: isProjectAdmin(actor),
        sort: query.sort,
        limit: query.limit,
        after,
        search: projectSearchQuery(query.q),
        role: query.role,
        ownerId: query.ownerId
      })
      const page = rows.slice(0, query.limit)
      const last = page.at(-1)?.project
      const byName = query.sort.endsWith('name')
      const nextCursor = rows.length > query.limit && last
        ? cursors.encode(scope, { value: byName ? last.name : last.createdAt.toISOString(), id: last.id })
        : null
      return { items: page.map((r) => toProjectView(r.project, r.role)), nextCursor }
    },

    async get (actor: Actor, id: string): Promise<ProjectView> {
      const { project, member } = await check(actor, id, 'viewer')
      return toProjectView(project, member)
    },

    /** update changes name or description (editors and owners). */
    async update (actor: Actor, id: string, changes: { name?: string, description?: string }): Promise<ProjectView> {
      const { member } = await check(actor, id, 'editor')
      const project = await db.transaction(async (tx) => {
        const project = await repo.update(id, changes, tx)
        if (project) await events.record(projectEvent('project.updated', project), tx)
        return project
      })
      if (!project) throw projectErrors.PROJECT_NOT_FOUND()
      return toProjectView(project, member)
    },

    /**
     * remove deletes a project (owners): its memberships and tasks go with it, so their schedules
     * stop; executions stay for history with a null project.
     */
    async remove (actor: Actor, id: string, context: AuditContext): Promise<ProjectView> {
      return db.transaction(async (tx) => {
        const { project, member } = await check(actor, id, 'owner', { tx, lock: true })
        await repo.delete(id, tx)
        await events.record(projectEvent('project.deleted', project), tx)
        await audit.record(context, { action: 'project.deleted', outcome: 'success', targetType: 'project', targetId: project.id, details: { name: project.name } }, tx)
        return toProjectView(project, member)
      })
    }
  }
}

/** ProjectsService is the projects module's service, decorated as `app.projects` for the other modules. */
export type ProjectsService = ReturnType<typeof createProjectsService>

/**
 * ProjectAccess is what the work modules need of projects, and all they may depend on: the access
 * check (404 for a project the actor cannot see, 403 for a role below `need`), the projects an actor
 * sees, and a user's role in one.
 */
export type ProjectAccess = Pick<ProjectsService, 'requireAccess' | 'visibleProjectIds' | 'roleOf'>
