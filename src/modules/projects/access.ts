import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import { projectErrors } from './errors.ts'
import { PROJECT_ADMIN } from './permissions.ts'
import type { Project, ProjectsRepository } from './repository.ts'
import type { ProjectRole } from './table.ts'

const RANK: Record<ProjectRole, number> = { viewer: 0, editor: 1, owner: 2 }

/** ProjectGrant is what an access check found: the project, the role that grants the access, and the caller's membership. */
export interface ProjectGrant {
  project: Project
  /** role is the membership role when it suffices, else `admin` (access through project:admin). */
  role: ProjectRole | 'admin'
  /** member is the caller's own membership role, null when not a member. */
  member: ProjectRole | null
}

/** hasRole tells whether a membership role is at least the needed one. */
export function hasRole (role: ProjectRole | null | undefined, need: ProjectRole): boolean {
  return role != null && RANK[role] >= RANK[need]
}

/** isProjectAdmin tells whether the actor sees and manages every project without being a member. */
export function isProjectAdmin (actor: Actor): boolean {
  return actor.permissions.has(PROJECT_ADMIN)
}

/**
 * createAccessCheck resolves an actor's access to one project. Anyone without project:admin is
 * judged only by the membership of `actor.userId` (users, their API keys and agents alike). A
 * project the actor cannot see is PROJECT_NOT_FOUND, the same reply as a missing id; a visible one
 * with too weak a role is PROJECT_ROLE_REQUIRED. With `lock` (inside a transaction) the project row
 * stays locked until the transaction ends, so membership changes and deletion are serialised.
 */
export function createAccessCheck (repo: ProjectsRepository) {
  return async function check (actor: Actor, projectId: string, need: ProjectRole, opts: { tx?: Database, lock?: boolean } = {}): Promise<ProjectGrant> {
    const found = await repo.findWithRole(projectId, actor.userId, opts)
    if (!found) throw projectErrors.PROJECT_NOT_FOUND()
    const { project, role: member } = found
    if (member && hasRole(member, need)) return { project, role: member, member }
    if (isProjectAdmin(actor)) return { project, role: 'admin', member }
    if (!member) throw projectErrors.PROJECT_NOT_FOUND()
    throw projectErrors.PROJECT_ROLE_REQUIRED(`This needs the ${need} role in the project; yours is ${member}`)
  }
}

/** AccessCheck is the function createAccessCheck returns. */
export type AccessCheck = ReturnType<typeof createAccessCheck>
