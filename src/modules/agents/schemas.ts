import { Type } from 'typebox'

const Label = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', maxLength: 63 })
const Labels = Type.Array(Label, { maxItems: 20, uniqueItems: true })
const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])
const Id = Type.String({ format: 'uuid', maxLength: 36 })

/** AgentStatusSchema is an agent's state: online (idle), busy (running work) or offline (missed heartbeats). */
export const AgentStatusSchema = Type.Union([Type.Literal('online'), Type.Literal('busy'), Type.Literal('offline')])

/** CreateAgentSchema registers an agent for a project (owners) or for every project (admins, no projectId). */
export const CreateAgentSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  labels: Type.Optional(Labels),
  projectId: Type.Optional(Id)
}, { additionalProperties: false })

/** UpdateAgentSchema changes an agent's name, description, labels or whether it may work. */
export const UpdateAgentSchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  labels: Type.Optional(Labels),
  enabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })

/** AgentSchema is an agent as people see it; never its credential. */
export const AgentSchema = Type.Object({
  id: Id,
  name: Type.String({ maxLength: 100 }),
  description: Type.String({ maxLength: 2000 }),
  projectId: Nullable(Id),
  labels: Type.Array(Type.String({ maxLength: 63 }), { maxItems: 20 }),
  status: AgentStatusSchema,
  enabled: Type.Boolean(),
  version: Nullable(Type.String({ maxLength: 100 })),
  lastSeenAt: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime
}, { additionalProperties: false })

/** AgentWithKeySchema is the registration and key-rotation reply: the only time the credential is shown. */
export const AgentWithKeySchema = Type.Object({
  agent: AgentSchema,
  apiKey: Type.String({ maxLength: 64, description: 'The agent\'s credential, sent as X-API-Key; shown once, store it now' })
}, { additionalProperties: false })

/** AgentListQuerySchema filters and pages the agents the caller can see. */
export const AgentListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  projectId: Type.Optional(Id),
  status: Type.Optional(AgentStatusSchema),
  label: Type.Optional(Label)
}, { additionalProperties: false })

/** AgentListSchema is one page of agents, newest first. */
export const AgentListSchema = Type.Object({ items: Type.Array(AgentSchema), nextCursor: Nullable(Type.String()) }, { additionalProperties: false })

/** AgentEventSchema is one entry of an agent's activity log. */
export const AgentEventSchema = Type.Object({
  id: Id,
  kind: Type.String({ maxLength: 50 }),
  fromStatus: Nullable(Type.String({ maxLength: 20 })),
  toStatus: Nullable(Type.String({ maxLength: 20 })),
  detail: Type.Record(Type.String(), Type.Unknown()),
  at: DateTime
}, { additionalProperties: false })

/** AgentEventListSchema is one page of an agent's activity, newest first. */
export const AgentEventListSchema = Type.Object({ items: Type.Array(AgentEventSchema), nextCursor: Nullable(Type.String()) }, { additionalProperties: false })

/** PageQuerySchema pages a sub-list. */
export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })

/** HeartbeatSchema is what an agent reports with each heartbeat. */
export const HeartbeatSchema = Type.Object({
  version: Type.Optional(Type.String({ maxLength: 100 })),
  labels: Type.Optional(Labels)
}, { additionalProperties: false })

/** HeartbeatReplySchema tells the agent its status and how often to beat. */
export const HeartbeatReplySchema = Type.Object({
  agent: AgentSchema,
  heartbeatSeconds: Type.Integer({ description: 'Send the next heartbeat within this many seconds' }),
  leaseSeconds: Type.Integer({ description: 'A running execution not reported on for this long times out' })
}, { additionalProperties: false })

/** AgentIdParams names an agent in the URL. */
export const AgentIdParams = Type.Object({ id: Id }, { additionalProperties: false })
