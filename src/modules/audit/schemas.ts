import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

const Outcome = Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])
const Nullable = (max: number) => Type.Union([Type.String({ maxLength: max }), Type.Null()])

/** AuditEventSchema is one audit event as an admin sees it; no field holds a secret. */
export const AuditEventSchema = Type.Object({
  id: idSchema(),
  createdAt: Type.String({ format: 'date-time', description: 'When the event happened (UTC)' }),
  action: Type.String({ maxLength: 100, examples: ['auth.login'] }),
  outcome: Outcome,
  actorId: Type.Union([idSchema(), Type.Null()]),
  actorType: Type.Union([Type.Literal('user'), Type.Literal('api-key'), Type.Literal('system'), Type.Literal('anonymous')]),
  targetType: Nullable(50),
  targetId: Nullable(200),
  ip: Nullable(64),
  userAgent: Nullable(512),
  requestId: Nullable(128),
  details: Type.Record(Type.String(), Type.Unknown(), { description: 'Non-secret details (secrets are "[redacted]"), at most 4 KiB' })
}, { additionalProperties: false })

/** AuditEvent is the public view of a stored audit event. */
export type AuditEvent = Static<typeof AuditEventSchema>

/** AuditListQuerySchema filters and pages the audit trail. */
export const AuditListQuerySchema = Type.Object({
  actorId: Type.Optional(idSchema()),
  action: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,100}\\*?$', maxLength: 101, description: "Exact action, or a prefix ending in '*' (auth.*)" })),
  outcome: Type.Optional(Outcome),
  targetType: Type.Optional(Type.String({ maxLength: 50 })),
  targetId: Type.Optional(Type.String({ maxLength: 200 })),
  from: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Events at or after this time' })),
  to: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Events before this time' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })

/** AuditListQuery is a parsed audit query. */
export type AuditListQuery = Static<typeof AuditListQuerySchema>

/** AuditListSchema is one page of audit events, newest first. */
export const AuditListSchema = Type.Object({
  items: Type.Array(AuditEventSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })
