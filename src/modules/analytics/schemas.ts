import { Type, type Static } from 'typebox'

const Count = Type.Integer({ minimum: 0 })
const Name = Type.String({ maxLength: 100 })

/** DaysQuerySchema is the bounded range of an analytics series: the last 1 to 90 days. */
export const DaysQuerySchema = Type.Object({
  days: Type.Integer({ minimum: 1, maximum: 90, default: 7, description: 'How many days back from now' })
}, { additionalProperties: false })

/** DaysQuery is a parsed range. */
export type DaysQuery = Static<typeof DaysQuerySchema>

/** OverviewSchema is the console's first page: the live nodes, this node's traffic, the queue, agents, runs of the last 24 h and each dependency. */
export const OverviewSchema = Type.Object({
  generatedAt: Type.String({ format: 'date-time' }),
  nodes: Type.Array(Type.Object({
    id: Type.String({ maxLength: 300, description: 'host name and process id' }),
    instance: Type.String({ format: 'uuid', description: 'this run of the node (a new one at each start): its row in `nodes`' }),
    version: Type.String({ maxLength: 50 }),
    uptimeSeconds: Count,
    ready: Type.Boolean({ description: 'what /health/ready said on that node at its last beat (ok or degraded); now, for the answering node' }),
    seenSecondsAgo: Type.Integer({ minimum: 0, description: 'since its last beat (nodes beat every 10 s; one silent for 30 s is not listed); 0 for the answering node' }),
    answering: Type.Boolean({ description: 'the node that answered this request' })
  }, { additionalProperties: false }), { maxItems: 101, description: 'Every live node of the deployment: the answering node first, then each node whose presence row (table `nodes`, touched every 10 s) was seen in the last 30 s. A node that stops cleanly leaves the list at once; one that crashes, within 30 s.' }),
  http: Type.Object({
    requestsPerSecond: Type.Number({ minimum: 0 }),
    errorRate: Type.Number({ minimum: 0, maximum: 1, description: 'share of replies with a 5xx status' }),
    p99Ms: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: 'upper bound of the histogram bucket holding the 99th percentile; null without requests' }),
    windowSeconds: Count
  }, { additionalProperties: false, description: 'This node over the last minute or so' }),
  queue: Type.Object({ depth: Count, active: Count, failed: Count, deadLetters: Count }, { additionalProperties: false }),
  agentsOnline: Count,
  executions24h: Type.Record(Name, Count, { description: 'runs created in the last 24 h by status (every status present, 0 when none)' }),
  dependencies: Type.Array(Type.Object({
    name: Name,
    state: Type.Union([Type.Literal('ok'), Type.Literal('fail')]),
    latencyMs: Count,
    critical: Type.Boolean({ description: 'a failure takes the node out of service' })
  }, { additionalProperties: false }), { maxItems: 100 }),
  breakers: Type.Array(Type.Object({
    name: Name,
    state: Type.Union([Type.Literal('open'), Type.Literal('half-open'), Type.Literal('closed')])
  }, { additionalProperties: false }), { maxItems: 1000, description: 'circuit breakers that are not closed (empty when all are)' })
}, { additionalProperties: false })

/** Overview is the console's first page. */
export type Overview = Static<typeof OverviewSchema>

/** ExecutionSeriesSchema counts runs by creation time and status: hourly buckets for 1–2 days, daily beyond. */
export const ExecutionSeriesSchema = Type.Object({
  interval: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  buckets: Type.Array(Type.Object({
    start: Type.String({ format: 'date-time' }),
    status: Name,
    count: Count
  }, { additionalProperties: false }), { maxItems: 10_000, description: 'only non-empty (start, status) pairs, oldest first' })
}, { additionalProperties: false })

/** ExecutionSeries is runs by time and status. */
export type ExecutionSeries = Static<typeof ExecutionSeriesSchema>

/** UserSeriesSchema is sign-ups and active users per UTC day, every day of the range present. */
export const UserSeriesSchema = Type.Object({
  days: Type.Array(Type.Object({
    day: Type.String({ format: 'date', maxLength: 10 }),
    signups: Count,
    activeUsers: Type.Integer({ minimum: 0, description: 'distinct users who signed in or refreshed a session that UTC day: every sign-in and every refresh-token rotation is stored with its time. Calls made only with an access token (valid for minutes, issued the day before) or with an API key are not counted.' })
  }, { additionalProperties: false }), { maxItems: 91 })
}, { additionalProperties: false })

/** UserSeries is sign-ups and active users per day. */
export type UserSeries = Static<typeof UserSeriesSchema>
