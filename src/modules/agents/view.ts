import type { Static } from 'typebox'
import type { AgentEventSchema, AgentSchema } from './schemas.ts'
import type { AgentRow, agentEvents } from './table.ts'

/** Agent is the public view of an agent. */
export type Agent = Static<typeof AgentSchema>
/** AgentEvent is one activity log entry. */
export type AgentEvent = Static<typeof AgentEventSchema>

/** toAgent is the only way a stored agent leaves the module. */
export function toAgent (row: AgentRow): Agent {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    projectId: row.projectId,
    labels: row.labels,
    status: row.status,
    enabled: row.disabledAt === null,
    version: row.version,
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}

/** toAgentEvent shapes an activity log row. */
export function toAgentEvent (row: typeof agentEvents.$inferSelect): AgentEvent {
  return { id: row.id, kind: row.kind, fromStatus: row.fromStatus, toStatus: row.toStatus, detail: row.detail, at: row.createdAt.toISOString() }
}
