import { Type } from 'typebox'

const Id = Type.String({ format: 'uuid', maxLength: 36 })
const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
const NullableId = Type.Union([Id, Type.Null()])
const NullableDateTime = Type.Union([DateTime, Type.Null()])

/** ExecutionStatusSchema is where a run is: queued → running → succeeded | failed | timed_out | cancelled. */
export const ExecutionStatusSchema = Type.Union([
  Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('timed_out'), Type.Literal('cancelled')
])

/** ExecutionSchema is one run of a task, as people and its agent see it. */
export const ExecutionSchema = Type.Object({
  id: Id,
  taskId: NullableId,
  projectId: NullableId,
  taskName: Type.String({ maxLength: 200 }),
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual'), Type.Literal('retry')]),
  slot: NullableDateTime,
  attempt: Type.Integer(),
  maxAttempts: Type.Integer(),
  retryOf: NullableId,
  status: ExecutionStatusSchema,
  payload: Type.Unknown(),
  target: Type.Object({ agentId: NullableId, labels: Type.Array(Type.String({ maxLength: 63 }), { maxItems: 20 }) }),
  timeoutSeconds: Type.Integer(),
  agentId: NullableId,
  availableAt: DateTime,
  startedAt: NullableDateTime,
  finishedAt: NullableDateTime,
  leaseUntil: NullableDateTime,
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  progress: Type.Union([Type.Integer(), Type.Null()]),
  result: Type.Unknown(),
  error: Type.Union([Type.String(), Type.Null()]),
  logs: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime
}, { additionalProperties: false })

/** ExecutionListQuerySchema filters and pages executions, newest first. */
export const ExecutionListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  projectId: Type.Optional(Id),
  taskId: Type.Optional(Id),
  agentId: Type.Optional(Id),
  status: Type.Optional(ExecutionStatusSchema),
  from: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Created at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Created before' }))
}, { additionalProperties: false })

/** ExecutionSummarySchema is an execution in a list (without payload, result and logs). */
export const ExecutionSummarySchema = Type.Omit(ExecutionSchema, ['payload', 'result', 'logs'])

/** ExecutionListSchema is one page of executions. */
export const ExecutionListSchema = Type.Object({ items: Type.Array(ExecutionSummarySchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false })

/** ExecutionIdParams names an execution in the URL. */
export const ExecutionIdParams = Type.Object({ id: Id }, { additionalProperties: false })

/** ClaimQuerySchema says how long an agent's claim may wait for work. */
export const ClaimQuerySchema = Type.Object({
  wait: Type.Integer({ minimum: 0, maximum: 30, default: 30, description: 'Seconds to wait for work before answering 204' })
}, { additionalProperties: false })

const Log = Type.String({ maxLength: 65536, description: 'Log text appended to the execution\'s logs' })

/** ProgressSchema is an agent's report on a running execution. */
export const ProgressSchema = Type.Object({
  progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  log: Type.Optional(Log)
}, { additionalProperties: false })

/** CompleteSchema ends a running execution successfully. */
export const CompleteSchema = Type.Object({
  result: Type.Optional(Type.Unknown({ description: 'Any JSON, at most 64 KiB' })),
  log: Type.Optional(Log)
}, { additionalProperties: false })

/** FailSchema ends a running execution as failed; the task's retry policy decides whether it runs again. */
export const FailSchema = Type.Object({
  error: Type.String({ minLength: 1, maxLength: 8192 }),
  result: Type.Optional(Type.Unknown({ description: 'Any JSON, at most 64 KiB' })),
  log: Type.Optional(Log),
  retry: Type.Optional(Type.Boolean({ default: true, description: 'false: do not retry, whatever the policy' }))
}, { additionalProperties: false })

/** AgentMetricsSchema is an agent's track record. */
export const AgentMetricsSchema = Type.Object({
  runs: Type.Integer({ description: 'Finished executions (succeeded, failed, timed out, cancelled while running)' }),
  succeeded: Type.Integer(),
  successRate: Type.Union([Type.Number(), Type.Null()]),
  p50DurationMs: Type.Union([Type.Integer(), Type.Null()]),
  p95DurationMs: Type.Union([Type.Integer(), Type.Null()]),
  running: Type.Integer(),
  lastSeenAt: NullableDateTime
}, { additionalProperties: false })
