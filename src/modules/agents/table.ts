import { sql } from 'drizzle-orm'
import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'
import { projects } from '../projects/index.ts'

/** AGENT_STATUSES: online (heart-beating, idle), busy (running an execution), offline (missed heartbeats). */
export const AGENT_STATUSES = ['online', 'busy', 'offline'] as const
/** AgentStatus is one of AGENT_STATUSES. */
export type AgentStatus = typeof AGENT_STATUSES[number]

/**
 * agents are the workers that run executions. An agent registered by a project owner serves that
 * project only; one registered by an admin (projectId null) serves every project.
 */
export const agents = pgTable('agents', {
  ...baseColumns(),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  ownerId: uuid('owner_id').notNull().references(() => users.id),
  projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
  labels: text('labels').array().notNull().default(sql`ARRAY[]::text[]`),
  status: text('status', { enum: AGENT_STATUSES }).notNull().default('offline'),
  /** apiKeyId is the agent's credential (an API key bound to the agent role). */
  apiKeyId: uuid('api_key_id'),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true, precision: 3 }),
  version: text('version'),
  disabledAt: timestamp('disabled_at', { withTimezone: true, precision: 3 })
}, (t) => [
  index('agents_project_idx').on(t.projectId),
  index('agents_created_idx').on(t.createdAt, t.id),
  index('agents_labels_idx').using('gin', t.labels)
])

/** agentEvents is each agent's activity log: registration, status changes, key rotation. */
export const agentEvents = pgTable('agent_events', {
  ...baseColumns(),
  agentId: uuid('agent_id').notNull().references(() => agents.id, { onDelete: 'cascade' }),
  kind: text('kind').notNull(),
  fromStatus: text('from_status'),
  toStatus: text('to_status'),
  detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({})
}, (t) => [index('agent_events_agent_idx').on(t.agentId, t.createdAt, t.id)])

/** AgentRow is a stored agent. */
export type AgentRow = typeof agents.$inferSelect
