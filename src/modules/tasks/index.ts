import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { createFireSender } from './fire.ts'
import { defineTaskPermissions } from './permissions.ts'
import { tasksRoutes } from './routes.ts'
import { createTasksService, type TasksService } from './service.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type TasksService } from './service.ts'
export { FIRE_JOB, type FireJob, type RunSnapshot } from './fire.ts'
export { type TaskRow, tasks } from './table.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** tasks is the tasks service: task rules, `requireTask` for other modules, and the scheduler's `fireDue` (claims due slots and sends their `tasks.fire` jobs). */
    tasks: TasksService
  }
}

/** tasksModule holds a project's tasks: what runs, where, on which schedule, with which retries. */
export default defineModule({
  name: 'tasks',
  plugin: fp(async (app) => {
    defineTaskPermissions(app.rbac)
    const tasks = createTasksService({
      db: app.db,
      events: app.events,
      audit: app.securityEvents,
      projects: app.projects,
      agentUsable: async (projectId, agentId) => app.agents.usableBy(projectId, agentId),
      maxPerProject: app.config.work.tasksMaxPerProject,
      log: app.log,
      fire: createFireSender({ queue: app.queue, metrics: app.metrics }),
      cursors: listCursors(app.config)
    })
    app.decorate('tasks', tasks)
    // agents owns the removal port, tasks (the higher module) plugs in: a task's target agent cannot be deleted under it.
    app.agents.guardRemoval(async (agentId, tx) => tasks.targetingReason(agentId, tx))
    await app.register(tasksRoutes(tasks))
  }, { name: 'tasks', dependencies: ['auth', 'rbac', 'security-events', 'events', 'metrics', 'queue', 'projects', 'agents'] })
})
