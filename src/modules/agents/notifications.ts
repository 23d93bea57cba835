import type { Database } from '../../platform/db.ts'
import type { NotificationType } from '../notifications/index.ts'
import { createAgentsRepository } from './repository.ts'

/** agentNotificationTypes are the agents module's notification types: an agent its owner manages went offline. */
export function agentNotificationTypes (db: Database): NotificationType[] {
  const repo = createAgentsRepository(db)
  return [{
    type: 'agent.went_offline',
    description: 'An agent you manage stopped sending heartbeats and went offline',
    on: 'agent.went_offline',
    defaults: { email: true, push: true },
    async recipients (event, tx) {
      const id = event.data.id
      const agent = typeof id === 'string' ? await repo.find(id, tx) : undefined
      if (!agent) return []
      const reason = typeof event.data.reason === 'string' ? ` (${event.data.reason})` : ''
      return [{
        userId: agent.ownerId,
        title: `Agent ${agent.name} went offline`,
        body: `${agent.name} is offline${reason}; runs waiting for it stay queued until it comes back.`,
        link: agent.projectId ? `/projects/${agent.projectId}/agents/${agent.id}` : `/agents/${agent.id}`
      }]
    }
  }]
}
