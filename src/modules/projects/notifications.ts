import type { Database } from '../../platform/db.ts'
import type { NotificationType } from '../notifications/index.ts'
import { createProjectsRepository } from './repository.ts'

/** projectNotificationTypes are the projects module's notification types: I was added to a project. */
export function projectNotificationTypes (db: Database): NotificationType[] {
  const repo = createProjectsRepository(db)
  return [{
    type: 'project.member_added',
    description: 'You were added to a project',
    on: 'project.member_added',
    defaults: { email: true, push: false },
    async recipients (event, tx) {
      const { projectId, userId } = event.data
      if (typeof projectId !== 'string' || typeof userId !== 'string') return []
      const found = await repo.findWithRole(projectId, userId, { tx })
      // Removed again (or the project deleted) before the event was published: nothing to tell.
      if (!found?.role) return []
      return [{
        userId,
        title: `You were added to ${found.project.name}`,
        body: `You are now ${found.role === 'owner' ? 'an' : 'a'} ${found.role} of the project ${found.project.name}.`,
        link: `/projects/${projectId}`
      }]
    }
  }]
}
