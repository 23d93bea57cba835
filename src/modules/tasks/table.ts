import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'
import { projects } from '../projects/index.ts'
import { agents } from '../agents/index.ts'

/**
 * tasks are pieces of work in a project, run on a cron `schedule` (null: run only on demand).
 * `nextRunAt` is the next slot the scheduler fires; it is null when paused or unscheduled.
 */
export const tasks = pgTable('tasks', {
  ...baseColumns(),
  projectId: uuid('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  schedule: text('schedule'),
  timezone: text('timezone').notNull().default('UTC'),
  enabled: boolean('enabled').notNull().default(true),
  payload: jsonb('payload').$type<unknown>().notNull().default({}),
  /** targetAgentId runs the task on that agent only; otherwise any agent with every targetLabel. */
  targetAgentId: uuid('target_agent_id').references(() => agents.id, { onDelete: 'set null' }),
  targetLabels: text('target_labels').array().notNull().default(sql`ARRAY[]::text[]`),
  timeoutSeconds: integer('timeout_seconds').notNull().default(3600),
  maxAttempts: integer('max_attempts').notNull().default(1),
  /** backoffSeconds is the first retry delay; each later retry doubles it. */
  backoffSeconds: integer('backoff_seconds').notNull().default(30),
  nextRunAt: timestamp('next_run_at', { withTimezone: true, precision: 3 }),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' })
}, (t) => [
  index('tasks_project_idx').on(t.projectId, t.createdAt, t.id),
  index('tasks_due_idx').on(t.nextRunAt).where(sql`${t.enabled} AND ${t.nextRunAt} IS NOT NULL`)
])

/** TaskRow is a stored task. */
export type TaskRow = typeof tasks.$inferSelect
