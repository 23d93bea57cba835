import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

const Id = idSchema()
const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
const NullableDateTime = Type.Union([DateTime, Type.Null()])
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'Where events are POSTed: https (http outside production); never a loopback, private, link-local or metadata address unless WEBHOOKS_ALLOW_PRIVATE' })
const Description = Type.String({ maxLength: 500 })
const EventType = Type.String({ pattern: '^([a-z_]+(\\.[a-z_]+)*|\\*)$', minLength: 1, maxLength: 100 })
const EventTypes = Type.Array(EventType, { minItems: 1, maxItems: 50, uniqueItems: true, description: 'Exact event types (e.g. task.created), or ["*"] for every type' })
const Enabled = Type.Boolean({ description: 'A disabled endpoint receives nothing; enabling it again clears the reason it was disabled' })

/** CreateWebhookSchema is a new endpoint; its signing secret is generated and shown once in the reply. */
export const CreateWebhookSchema = Type.Object({
  url: Url,
  eventTypes: EventTypes,
  description: Type.Optional(Description),
  enabled: Type.Optional(Enabled)
}, { additionalProperties: false })

/** UpdateWebhookSchema changes some fields of an endpoint (the secret changes only through rotate-secret). */
export const UpdateWebhookSchema = Type.Object({
  url: Type.Optional(Url),
  eventTypes: Type.Optional(EventTypes),
  description: Type.Optional(Description),
  enabled: Type.Optional(Enabled)
}, { additionalProperties: false, minProperties: 1 })

/** WebhookSchema is an endpoint as project editors and owners see it: never its secret. */
export const WebhookSchema = Type.Object({
  id: Id,
  projectId: Id,
  url: Type.String({ maxLength: 2048 }),
  description: Type.String({ maxLength: 500 }),
  eventTypes: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 }),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String({ maxLength: 500 }), Type.Null()]),
  disabledAt: NullableDateTime,
  previousSecretExpiresAt: Type.Union([DateTime, Type.Null()], { description: 'After a rotation, until when the previous secret still signs beside the new one' }),
  consecutiveFailures: Type.Integer({ minimum: 0 }),
  lastSuccessAt: NullableDateTime,
  lastFailureAt: NullableDateTime,
  createdAt: DateTime,
  updatedAt: DateTime
}, { additionalProperties: false })

/** WebhookWithSecretSchema is the create and rotate-secret reply: the only time the secret is shown. */
export const WebhookWithSecretSchema = Type.Object({
  ...WebhookSchema.properties,
  secret: Type.String({ maxLength: 100, description: 'The signing secret (`whsec_…`); shown once, store it now' })
}, { additionalProperties: false })

/** WebhookListQuerySchema pages a project's endpoints, newest first. */
export const WebhookListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })

/** WebhookListSchema is one page of endpoints. */
export const WebhookListSchema = Type.Object({
  items: Type.Array(WebhookSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

const Status = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('gave_up')], {
  description: 'pending: waiting for its next attempt; succeeded: a 2xx; failed: stopped early (410 Gone, endpoint disabled); gave_up: every attempt failed'
})

/** DeliverySchema is one event's delivery to one endpoint, with the outcome of its last attempt. */
export const DeliverySchema = Type.Object({
  id: Id,
  webhookId: Id,
  eventId: Type.String({ maxLength: 36, description: 'The `webhook-id` header: the same on every attempt and redelivery' }),
  eventType: Type.String({ maxLength: 100 }),
  status: Status,
  attempts: Type.Integer({ minimum: 0 }),
  maxAttempts: Type.Integer({ minimum: 1 }),
  nextAttemptAt: NullableDateTime,
  lastAttemptAt: NullableDateTime,
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String({ maxLength: 500 }), Type.Null()]),
  responseExcerpt: Type.Union([Type.String({ maxLength: 1024 }), Type.Null()], { description: 'The start of the last response body (at most 1 KiB)' }),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: DateTime,
  completedAt: NullableDateTime,
  redeliveredAt: NullableDateTime
}, { additionalProperties: false })

/** DeliveryListQuerySchema pages an endpoint's deliveries, newest first, optionally of one status. */
export const DeliveryListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  status: Type.Optional(Status)
}, { additionalProperties: false })

/** DeliveryListSchema is one page of deliveries. */
export const DeliveryListSchema = Type.Object({
  items: Type.Array(DeliverySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** IdParams names an endpoint, or for the endpoint list and create its project, in the URL. */
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

/** DeliveryParams names one delivery of an endpoint. */
export const DeliveryParams = Type.Object({ id: Id, deliveryId: Id }, { additionalProperties: false })

/** CreateWebhookInput is the body of a create. */
export type CreateWebhookInput = Static<typeof CreateWebhookSchema>
/** UpdateWebhookInput is the body of a partial update. */
export type UpdateWebhookInput = Static<typeof UpdateWebhookSchema>
/** Webhook is the public view of an endpoint. */
export type Webhook = Static<typeof WebhookSchema>
/** Delivery is the public view of a delivery. */
export type Delivery = Static<typeof DeliverySchema>
/** DeliveryListQuery is the delivery list query. */
export type DeliveryListQuery = Static<typeof DeliveryListQuerySchema>
