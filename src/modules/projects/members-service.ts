import type { Actor } from '../../platform/auth.ts'
import { authErrors } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import type { UsersService } from '../users/index.ts'
import { createAccessCheck } from './access.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import { projectErrors } from './errors.ts'
import { memberEvent } from './events.ts'
import { PROJECT_UPDATE } from './permissions.ts'
import { createMembersRepository } from './members-repository.ts'
import { createProjectsRepository } from './repository.ts'
import type { AddMember, Member } from './schemas.ts'
import type { ProjectRole } from './table.ts'
import { toMember } from './view.ts'

interface MembersDeps {
  db: Database
  users: UsersService
  cursors: CursorCodec
  events: Events
  audit: SecurityEvents
}

/** MemberChange is what a membership change did. */
export interface MemberChange { member: Member, before: ProjectRole | null }

/**
 * createMembersService holds the membership rules: viewers see the members, owners manage them,
 * anyone may leave, and a project never loses its last owner. Every change runs under the project
 * row's lock, so two concurrent demotions cannot both pass the last-owner check.
 */
export function createMembersService ({ db, users, cursors, events, audit }: MembersDeps) {
  // Audit rows name the project and the member's id and roles, never their email; written in the change's transaction.
  const audited = (context: AuditContext, action: string, projectId: string, userId: string, role: ProjectRole | null, before: ProjectRole | null, tx: Database) =>
    audit.record(context, { action, outcome: 'success', targetType: 'project', targetId: projectId, details: { userId, role, before } }, tx)
  const repo = createMembersRepository(db)
  const projects = createProjectsRepository(db)
  const check = createAccessCheck(projects)

  async function profile (userId: string) {
    const [user] = await users.profiles([userId])
    return user
  }

  // The project's ownerId names an owner; when that member stops being one, the longest-standing owner takes it.
  async function keepOwnerId (projectId: string, ownerId: string, leaving: string, tx: Database): Promise<void> {
    if (ownerId !== leaving) return
    const next = await repo.oldestOwnerExcept(projectId, leaving, tx)
    if (next) await projects.setOwner(projectId, next, tx)
  }

  async function refuseLastOwner (projectId: string, before: ProjectRole, after: ProjectRole | null, tx: Database): Promise<void> {
    if (before === 'owner' && after !== 'owner' && (await repo.countOwners(projectId, tx)) <= 1) throw projectErrors.PROJECT_LAST_OWNER()
  }

  return {
    /** list pages a project's members (viewers and up), oldest membership first. */
    async list (actor: Actor, projectId: string, query: { limit: number, cursor?: string }): Promise<{ items: Member[], nextCursor: string | null }> {
      await check(actor, projectId, 'viewer')
      const scope = `members:${projectId}`
      const after = cursors.read(scope, query.cursor)
      const rows = await repo.list(projectId, query.limit, after)
      const page = rows.slice(0, query.limit)
      const people = new Map((await users.profiles(page.map((r) => r.userId))).map((u) => [u.id, u]))
      const last = page.at(-1)
      return {
        items: page.map((r) => toMember(r, people.get(r.userId))),
        nextCursor: rows.length > query.limit && last ? cursors.encode(scope, { value: last.createdAt.toISOString(), id: last.id }) : null
      }
    },

    /** add makes an active account a member (owners); unknown, disabled and deleted accounts get one 404. */
    async add (actor: Actor, projectId: string, input: AddMember, context: AuditContext): Promise<MemberChange> {
      // The access check comes first: only owners learn whether an account exists. The lookup runs
      // outside the transaction, so a request never holds two pool connections at once.
      await check(actor, projectId, 'owner')
      const user = await users.findActive('email' in input ? { email: input.email } : { id: input.userId })
      if (!user) throw projectErrors.PROJECT_USER_NOT_FOUND()
      return db.transaction(async (tx) => {
        await check(actor, projectId, 'owner', { tx, lock: true })
        const row = await repo.insert({ projectId, userId: user.id, role: input.role }, tx)
        if (!row) throw projectErrors.PROJECT_MEMBER_EXISTS()
        await events.record(memberEvent('project.member_added', projectId, user.id, input.role, null), tx)
        await audited(context, 'project.member_added', projectId, user.id, input.role, null, tx)
        return { member: toMember(row, user), before: null }
      })
    },

    /** setRole changes a member's role (owners); the last owner cannot be demoted. */
    async setRole (actor: Actor, projectId: string, userId: string, role: ProjectRole, context: AuditContext): Promise<MemberChange> {
      const change = await db.transaction(async (tx) => {
        const { project } = await check(actor, projectId, 'owner', { tx, lock: true })
        const before = await repo.find(projectId, userId, tx)
        if (!before) throw projectErrors.PROJECT_MEMBER_NOT_FOUND()
        await refuseLastOwner(projectId, before.role, role, tx)
        const row = await repo.setRole(projectId, userId, role, tx)
        if (role !== 'owner') await keepOwnerId(projectId, project.ownerId, userId, tx)
        await events.record(memberEvent('project.member_role_changed', projectId, userId, role, before.role), tx)
        if (before.role !== role) await audited(context, 'project.member_role_changed', projectId, userId, role, before.role, tx)
        return { row: row!, before: before.role }
      })
      return { member: toMember(change.row, await profile(userId)), before: change.before }
    },

    /**
     * remove ends a membership: owners remove anyone (with project:update), any member removes
     * themselves; the last owner cannot leave.
     */
    async remove (actor: Actor, projectId: string, userId: string, context: AuditContext): Promise<MemberChange> {
      const self = userId === actor.userId
      const change = await db.transaction(async (tx) => {
        const { project } = await check(actor, projectId, self ? 'viewer' : 'owner', { tx, lock: true })
        if (!self && !actor.permissions.has(PROJECT_UPDATE)) throw authErrors.FORBIDDEN()
        const before = await repo.find(projectId, userId, tx)
        if (!before) throw projectErrors.PROJECT_MEMBER_NOT_FOUND()
        await refuseLastOwner(projectId, before.role, null, tx)
        await repo.remove(projectId, userId, tx)
        await keepOwnerId(projectId, project.ownerId, userId, tx)
        await events.record(memberEvent('project.member_removed', projectId, userId, null, before.role), tx)
        await audited(context, 'project.member_removed', projectId, userId, before.role, before.role, tx)
        return before
      })
      return { member: toMember(change, await profile(userId)), before: change.role }
    }
  }
}

/** MembersService is the projects module's membership service. */
export type MembersService = ReturnType<typeof createMembersService>
