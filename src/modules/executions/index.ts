import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { agentWorkRoutes } from './agent-routes.ts'
import { defineExecutionPermissions } from './permissions.ts'
import { executionNotificationTypes } from './notifications.ts'
import { executionsRoutes } from './routes.ts'
import { registerExecutionMetrics } from './metrics.ts'
import { FIRE_JOB, type FireJob } from '../tasks/index.ts'
import { FIRE_CONCURRENCY } from './fire-batch.ts'
import { createWorkLoop } from './scheduler.ts'
import { createExecutionsService, type ExecutionsService } from './service.ts'

// The public surface other modules may import (eslint: no-restricted-imports): the files module keys artifacts to runs.
export { type ExecutionsService } from './service.ts'
export { executions, EXECUTION_STATUSES } from './table.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** executions is the runs service: creating, claiming, reporting, cancelling runs. */
    executions: ExecutionsService
    /** workLoop is this node's scheduler and sweeper; `tick(now)` runs one round (tests drive it with a fake clock). */
    workLoop: ReturnType<typeof createWorkLoop>
  }
}

/** executionsModule runs tasks: the scheduler, the agents' work queue, run history and metrics. */
export default defineModule({
  name: 'executions',
  plugin: fp(async (app) => {
    defineExecutionPermissions(app.rbac)
    const executions = createExecutionsService({ db: app.db, projects: app.projects, agents: app.agents, events: app.events, audit: app.securityEvents, config: app.config, cursors: listCursors(app.config) })
    registerExecutionMetrics(app)
    const loop = createWorkLoop({ tasks: app.tasks, executions, agents: app.agents, config: app.config, log: app.log })
    // Runs queued for that agent alone (their task was retargeted since) would wait forever and fill the task's queued cap.
    app.agents.onRemoving(async (agentId, tx) => executions.cancelQueuedFor(agentId, tx))
    app.decorate('executions', executions)
    app.notifications.declare(...executionNotificationTypes({ tasks: app.tasks, projects: app.projects }))
    app.decorate('workLoop', loop)
    // The end of a due slot's path (tasks claim it and send the job in the claim's transaction): the run is created here.
    // Fire jobs running together share a transaction (fire-batch.ts): enough of them at once for
    // one batch to gather while the previous one commits.
    app.queue.define<FireJob>(FIRE_JOB, async (job) => { await loop.handleFire(job.data) }, { concurrency: Math.max(app.config.queue.concurrency, FIRE_CONCURRENCY) })
    // Background work runs on nodes that serve traffic; inject()-only apps (tests) drive it themselves.
    app.addHook('onListen', async () => { loop.start() })
    app.addHook('preClose', async () => {
      executions.close()
      await loop.stop()
    })
    await app.register(executionsRoutes(executions))
    await app.register(agentWorkRoutes(executions))
  }, { name: 'executions', dependencies: ['projects', 'agents', 'tasks', 'queue', 'events', 'security-events', 'operations-metrics', 'notifications'] })
})
