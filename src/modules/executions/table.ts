import { sql } from 'drizzle-orm'
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'
import { projects } from '../projects/index.ts'
import { tasks } from '../tasks/index.ts'
import { agents } from '../agents/index.ts'

/** EXECUTION_STATUSES: queued → running → succeeded | failed | timed_out | cancelled. */
export const EXECUTION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'] as const
/** ExecutionStatus is one of EXECUTION_STATUSES. */
export type ExecutionStatus = typeof EXECUTION_STATUSES[number]
/** EXECUTION_TRIGGERS say why an execution exists: its schedule fired, someone ran it now, or a retry. */
export const EXECUTION_TRIGGERS = ['schedule', 'manual', 'retry'] as const

/**
 * executions are runs of tasks, one row per attempt, kept when their task or project is deleted
 * (task and project ids become null; the task name stays). The table is also the agents' work
 * queue: an agent claims a queued row with FOR UPDATE SKIP LOCKED and holds it under a lease.
 */
export const executions = pgTable('executions', {
  ...baseColumns(),
  taskId: uuid('task_id').references(() => tasks.id, { onDelete: 'set null' }),
  projectId: uuid('project_id').references(() => projects.id, { onDelete: 'set null' }),
  taskName: text('task_name').notNull(),
  trigger: text('trigger', { enum: EXECUTION_TRIGGERS }).notNull(),
  /** slot is the scheduled time this run fires for (null for manual runs): one run per (task, slot, attempt). */
  slot: timestamp('slot', { withTimezone: true, precision: 3 }),
  attempt: integer('attempt').notNull().default(1),
  maxAttempts: integer('max_attempts').notNull().default(1),
  backoffSeconds: integer('backoff_seconds').notNull().default(30),
  retryOf: uuid('retry_of'),
  status: text('status', { enum: EXECUTION_STATUSES }).notNull().default('queued'),
  payload: jsonb('payload').$type<unknown>().notNull().default({}),
  targetAgentId: uuid('target_agent_id'),
  targetLabels: text('target_labels').array().notNull().default(sql`ARRAY[]::text[]`),
  timeoutSeconds: integer('timeout_seconds').notNull(),
  agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'set null' }),
  /** availableAt is when the run may be claimed (later than creation for a retry's back-off). */
  availableAt: timestamp('available_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }),
  finishedAt: timestamp('finished_at', { withTimezone: true, precision: 3 }),
  /** leaseUntil: a running execution whose agent stops heart-beating times out when this passes. */
  leaseUntil: timestamp('lease_until', { withTimezone: true, precision: 3 }),
  progress: integer('progress'),
  result: jsonb('result').$type<unknown>(),
  /** traceContext is the W3C trace context the run was created in (null without tracing): claim, progress and completion join that trace. */
  traceContext: jsonb('trace_context').$type<Record<string, string>>(),
  error: text('error'),
  logs: text('logs').notNull().default(''),
  requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
  idempotencyKey: text('idempotency_key')
}, (t) => [
  uniqueIndex('executions_slot_unique').on(t.taskId, t.slot, t.attempt),
  uniqueIndex('executions_retry_unique').on(t.retryOf),
  uniqueIndex('executions_idempotency_unique').on(t.requestedBy, t.idempotencyKey),
  index('executions_claim_idx').on(t.availableAt).where(sql`${t.status} = 'queued'`),
  index('executions_running_idx').on(t.leaseUntil).where(sql`${t.status} = 'running'`),
  index('executions_project_idx').on(t.projectId, t.createdAt, t.id),
  index('executions_task_idx').on(t.taskId, t.createdAt, t.id),
  index('executions_agent_idx').on(t.agentId, t.createdAt, t.id),
  index('executions_created_idx').on(t.createdAt, t.id)
])

/** ExecutionRow is a stored execution. */
export type ExecutionRow = typeof executions.$inferSelect
