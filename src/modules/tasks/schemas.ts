import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

const Id = idSchema()
const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
const Name = Type.String({ minLength: 1, maxLength: 200 })
const Description = Type.String({ maxLength: 2000 })
const Schedule = Type.Union([Type.String({ maxLength: 200 }), Type.Null()], {
  description: 'Cron: 5 fields (minute hour day-of-month month day-of-week), or 6 with leading seconds, or @hourly/@daily/@weekly/@monthly/@yearly; runs at least a minute apart. null: run on demand only'
})
const Timezone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone the schedule is read in (default UTC)' })
const Payload = Type.Unknown({ description: 'Any JSON except null, given to the agent (at most 64 KiB serialized, nesting at most 32 deep; default {})' })
const Label = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', maxLength: 63 })
const Labels = Type.Array(Label, { maxItems: 20, uniqueItems: true, description: 'Any agent holding every one of these labels may run the task' })
const TimeoutSeconds = Type.Integer({ minimum: 1, maximum: 86400, description: 'Longest an execution may run (default 3600)' })
const MaxAttempts = Type.Integer({ minimum: 1, maximum: 10, description: 'Attempts per run, the first included (default 1)' })
const BackoffSeconds = Type.Integer({ minimum: 1, maximum: 86400, description: 'Delay before the first retry, doubled for each later one (default 30)' })

/** TargetInputSchema says where a task runs: one agent of the project (or a global one), or any agent with every label. */
export const TargetInputSchema = Type.Object({
  agentId: Type.Optional(Type.Union([Id, Type.Null()])),
  labels: Type.Optional(Labels)
}, { additionalProperties: false, description: 'Either agentId or labels; neither means any agent' })

/** CreateTaskSchema is a new task; everything but the name has a default. */
export const CreateTaskSchema = Type.Object({
  name: Name,
  description: Type.Optional(Description),
  schedule: Type.Optional(Schedule),
  timezone: Type.Optional(Timezone),
  enabled: Type.Optional(Type.Boolean({ description: 'A disabled task never fires on its schedule (default true)' })),
  payload: Type.Optional(Payload),
  target: Type.Optional(TargetInputSchema),
  timeoutSeconds: Type.Optional(TimeoutSeconds),
  retry: Type.Optional(Type.Object({ maxAttempts: Type.Optional(MaxAttempts), backoffSeconds: Type.Optional(BackoffSeconds) }, { additionalProperties: false }))
}, { additionalProperties: false })

/** UpdateTaskSchema changes some fields of a task; `target` is replaced as a whole, `retry` field by field. A task never moves to another project. */
export const UpdateTaskSchema = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(Description),
  schedule: Type.Optional(Schedule),
  timezone: Type.Optional(Timezone),
  enabled: Type.Optional(Type.Boolean()),
  payload: Type.Optional(Payload),
  target: Type.Optional(TargetInputSchema),
  timeoutSeconds: Type.Optional(TimeoutSeconds),
  retry: Type.Optional(Type.Object({ maxAttempts: Type.Optional(MaxAttempts), backoffSeconds: Type.Optional(BackoffSeconds) }, { additionalProperties: false }))
}, { additionalProperties: false, minProperties: 1 })

/** TaskSchema is a task as project members see it, with its coming runs. */
export const TaskSchema = Type.Object({
  id: Id,
  projectId: Id,
  name: Type.String({ maxLength: 200 }),
  description: Type.String({ maxLength: 2000 }),
  schedule: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
  timezone: Type.String({ maxLength: 64 }),
  enabled: Type.Boolean(),
  payload: Type.Unknown(),
  target: Type.Object({ agentId: Type.Union([Id, Type.Null()]), labels: Type.Array(Type.String({ maxLength: 63 }), { maxItems: 20 }) }, { additionalProperties: false }),
  timeoutSeconds: Type.Integer(),
  retry: Type.Object({ maxAttempts: Type.Integer(), backoffSeconds: Type.Integer() }, { additionalProperties: false }),
  nextRunAt: Type.Union([DateTime, Type.Null()], { description: 'The next slot the scheduler fires; null when paused or unscheduled' }),
  nextRuns: Type.Array(DateTime, { maxItems: 5, description: 'The next five slots; empty when paused or unscheduled' }),
  createdAt: DateTime,
  updatedAt: DateTime
}, { additionalProperties: false })

/** TaskListQuerySchema pages a project's tasks, newest first. */
export const TaskListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  enabled: Type.Optional(Type.Boolean({ description: 'Only enabled (true) or paused (false) tasks' })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Tasks whose name contains this text (case-insensitive)' }))
}, { additionalProperties: false })

/** TaskListSchema is one page of tasks. */
export const TaskListSchema = Type.Object({
  items: Type.Array(TaskSchema, { maxItems: 100 }),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** IdParams names a task, or for the task list its project, in the URL. */
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

/** CreateTaskInput is the body of a create. */
export type CreateTaskInput = Static<typeof CreateTaskSchema>
/** UpdateTaskInput is the body of a partial update. */
export type UpdateTaskInput = Static<typeof UpdateTaskSchema>
/** TaskListQuery is the list query. */
export type TaskListQuery = Static<typeof TaskListQuerySchema>
/** Task is the public view of a task. */
export type Task = Static<typeof TaskSchema>
