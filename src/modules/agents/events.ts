import type { DomainEvent } from '../../platform/events.ts'
import type { AgentRow, AgentStatus } from './table.ts'

/** agentEvent describes an agent's change on its own channel and its project's (admin for global agents). */
export function agentEvent (type: string, agent: Pick<AgentRow, 'id' | 'projectId' | 'name'>, data: Record<string, unknown> = {}): DomainEvent {
  return {
    type,
    aggregate: `agent:${agent.id}`,
    channels: [`agent:${agent.id}`, agent.projectId ? `project:${agent.projectId}` : 'admin'],
    data: { id: agent.id, projectId: agent.projectId, name: agent.name, ...data }
  }
}

/** statusEventType names a status change: going offline and coming back are events of their own. */
export function statusEventType (from: AgentStatus, to: AgentStatus): string {
  if (to === 'offline') return 'agent.went_offline'
  if (from === 'offline') return 'agent.went_online'
  return 'agent.status_changed'
}
