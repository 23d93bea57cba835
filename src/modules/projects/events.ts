import type { DomainEvent } from '../../platform/events.ts'
import type { Project } from './repository.ts'
import type { ProjectRole } from './table.ts'

/** projectEvent describes a change to a project on its channel. */
export function projectEvent (type: 'project.created' | 'project.updated' | 'project.deleted', project: Pick<Project, 'id' | 'name' | 'description' | 'ownerId'>): DomainEvent {
  return {
    type,
    aggregate: `project:${project.id}`,
    channels: [`project:${project.id}`],
    data: { id: project.id, name: project.name, description: project.description, ownerId: project.ownerId }
  }
}

/** memberEvent describes a membership change on the project's channel and the member's own. */
export function memberEvent (type: 'project.member_added' | 'project.member_role_changed' | 'project.member_removed', projectId: string, userId: string, role: ProjectRole | null, before: ProjectRole | null): DomainEvent {
  return {
    type,
    aggregate: `project:${projectId}`,
    channels: [`project:${projectId}`, `user:${userId}`],
    data: { projectId, userId, role, before }
  }
}
