import type { User } from '../users/index.ts'
import type { Project } from './repository.ts'
import type { Member, ProjectView } from './schemas.ts'
import type { ProjectMemberRow, ProjectRole } from './table.ts'

/** toProjectView is how a project leaves the module: with the caller's role, `admin` when they are not a member. */
export function toProjectView (project: Project, role: ProjectRole | null): ProjectView {
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    ownerId: project.ownerId,
    role: role ?? 'admin',
    createdAt: project.createdAt.toISOString(),
    updatedAt: project.updatedAt.toISOString()
  }
}

/** toMember is how a membership leaves the module: the member's id, email and name, never more of their account. */
export function toMember (row: ProjectMemberRow, user: Pick<User, 'email' | 'name'> | undefined): Member {
  return {
    userId: row.userId,
    email: user?.email ?? '',
    name: user?.name ?? '',
    role: row.role,
    createdAt: row.createdAt.toISOString()
  }
}
