import fp from 'fastify-plugin'
import { sql } from 'drizzle-orm'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { scrapeGauge } from '../../platform/operations-metrics.ts'
import { AGENT_STATUSES, agents as agentsTable } from './table.ts'
import { defineAgentPermissions } from './permissions.ts'
import { agentsRoutes } from './routes.ts'
import { agentNotificationTypes } from './notifications.ts'
import { createAgentsService, type AgentsService } from './service.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type AgentsService } from './service.ts'
export { type AgentRow, agents } from './table.ts'
export { AGENT_READ } from './permissions.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** agents is the agents service: registration, credentials, status. */
    agents: AgentsService
  }
}

/** agentsModule registers the workers that run executions and gives each a credential bound to the agent role. */
export default defineModule({
  name: 'agents',
  plugin: fp(async (app) => {
    defineAgentPermissions(app.rbac)
    // An agent's key holds these permissions and nothing else (execution:read shows it only its own runs).
    app.rbac.defineRole('agent', ['agent:work', 'execution:read'])
    const agents = createAgentsService({ db: app.db, projects: app.projects, apiKeys: app.apiKeys, events: app.events, audit: app.securityEvents, config: app.config, cursors: listCursors(app.config) })
    app.decorate('agents', agents)
    app.notifications.declare(...agentNotificationTypes(app.db))
    scrapeGauge(app.metrics, { name: 'backplane_agents', help: 'Registered agents by status (online, busy, offline …)', labelNames: ['status'] as const }, async (g) => {
      const { rows } = await app.db.execute<{ status: string, n: number }>(sql`SELECT status, count(*)::int AS n FROM ${agentsTable} GROUP BY status`)
      for (const status of AGENT_STATUSES) g.set({ status }, rows.find((r) => r.status === status)?.n ?? 0)
    }, (message) => { app.log.warn(message) })
    await app.register(agentsRoutes(agents))
  }, { name: 'agents', dependencies: ['auth', 'rbac', 'projects', 'api-keys', 'events', 'security-events', 'operations-metrics', 'notifications'] })
})
