import { Type, type Static } from 'typebox'

const JobName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'A job name, e.g. mail.send', examples: ['mail.send'] })
const Count = Type.Integer({ minimum: 0 })

/** QueueStatsSchema is one job name's depths on the queue. */
export const QueueStatsSchema = Type.Object({
  name: Type.String({ maxLength: 100 }),
  queued: Type.Integer({ minimum: 0, description: 'Waiting to run (including delayed jobs and, with RabbitMQ, jobs still in the outbox)' }),
  active: Type.Integer({ minimum: 0, description: 'Running now (with RabbitMQ: on this node)' }),
  failed: Type.Integer({ minimum: 0, description: 'Failed at least once, waiting for their next attempt' }),
  deadLetters: Count
}, { additionalProperties: false })

/** QueueOverviewSchema is the queue adapter and every job name's depths. */
export const QueueOverviewSchema = Type.Object({
  adapter: Type.Union([Type.Literal('pg-boss'), Type.Literal('amqp')]),
  queues: Type.Array(QueueStatsSchema)
}, { additionalProperties: false })

/** QueueNameParams names one job name's queue. */
export const QueueNameParams = Type.Object({ name: JobName }, { additionalProperties: false })

/** DeadLetterParams names one dead letter. */
export const DeadLetterParams = Type.Object({ name: JobName, id: Type.String({ format: 'uuid', maxLength: 36 }) }, { additionalProperties: false })

/** DeadLetterListQuerySchema bounds how many dead letters one call shows. */
export const DeadLetterListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 })
}, { additionalProperties: false })

/** DeadLetterListQuery is a parsed dead-letter query. */
export type DeadLetterListQuery = Static<typeof DeadLetterListQuerySchema>

/** DeadLetterSchema is a job that failed its last allowed attempt. */
export const DeadLetterSchema = Type.Object({
  id: Type.String({ maxLength: 200, description: 'Pass it to the retry route' }),
  name: Type.String({ maxLength: 100 }),
  data: Type.Unknown({ description: 'The job payload as sent' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'The last attempt\'s error message' }),
  failedAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

/** DeadLetterListSchema is the oldest dead letters of a queue; they are not paged (retry them, or they expire). */
export const DeadLetterListSchema = Type.Object({
  items: Type.Array(DeadLetterSchema),
  nextCursor: Type.Null({ description: 'Always null: dead letters are shown oldest first, up to `limit`' })
}, { additionalProperties: false })
