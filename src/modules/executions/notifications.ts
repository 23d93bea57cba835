import { eq } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import type { NotificationType } from '../notifications/index.ts'
import type { ProjectsService } from '../projects/index.ts'
import type { TasksService } from '../tasks/index.ts'
import { executions } from './table.ts'

/** retried tells whether a later attempt of this run was queued (in the transaction that ended it). */
async function retried (id: string, tx: Database): Promise<boolean> {
  const [next] = await tx.select({ id: executions.id }).from(executions).where(eq(executions.retryOf, id)).limit(1)
  return next !== undefined
}

/**
 * executionNotificationTypes are the executions module's notification types: a run of a task I
 * created failed or timed out, for good: an attempt that the task's retry policy runs again tells
 * nobody (the last one does). The creator is told only while still a member of the task's project.
 */
export function executionNotificationTypes ({ tasks, projects }: { tasks: TasksService, projects: ProjectsService }): NotificationType[] {
  const runEnded = (type: 'execution.failed' | 'execution.timed_out', description: string, verb: string): NotificationType => ({
    type,
    description,
    on: type,
    defaults: { email: true, push: true },
    async recipients (event, tx) {
      const { id, taskId, projectId, taskName, error } = event.data
      if (typeof id !== 'string' || typeof taskId !== 'string' || typeof projectId !== 'string') return []
      if (await retried(id, tx)) return []
      const creator = await tasks.creatorOf(taskId, tx)
      if (!creator || !await projects.roleOf(creator, projectId)) return []
      const name = typeof taskName === 'string' ? taskName : 'a task'
      return [{
        userId: creator,
        title: `A run of ${name} ${verb}`,
        body: typeof error === 'string' && error ? error : `The run ${verb}.`,
        link: `/projects/${projectId}/executions/${id}`
      }]
    }
  })
  return [
    runEnded('execution.failed', 'A run of a task you created failed', 'failed'),
    runEnded('execution.timed_out', 'A run of a task you created timed out', 'timed out')
  ]
}
