import { Type } from 'typebox'

const Scope = Type.String({ pattern: '^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$', minLength: 3, maxLength: 81 })
const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
const NullableDateTime = Type.Union([DateTime, Type.Null()])

/** CreateApiKeySchema is a new key's name, scopes (a subset of the owner's permissions) and optional expiry. */
export const CreateApiKeySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  scopes: Type.Array(Scope, { maxItems: 50, uniqueItems: true }),
  // No upper bound: keys without any expiry are allowed, so capping a chosen expiry would protect nothing.
  expiresAt: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'When the key stops working; must be in the future; omit for a key that does not expire' }))
}, { additionalProperties: false })

/** ApiKeySchema is a key as its owner sees it: the public prefix, never the key or its hash. */
export const ApiKeySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String({ maxLength: 100 }),
  prefix: Type.String({ maxLength: 8, description: 'The public part of the key, `bp_<prefix>_…`' }),
  scopes: Type.Array(Type.String({ maxLength: 81 }), { maxItems: 50 }),
  expiresAt: NullableDateTime,
  lastUsedAt: Type.Union([DateTime, Type.Null()], { description: 'Updated at most once a minute' }),
  createdAt: DateTime,
  revokedAt: NullableDateTime
}, { additionalProperties: false })

/** ApiKeyWithSecretSchema is the create and rotate reply: the only time the key itself is shown. */
export const ApiKeyWithSecretSchema = Type.Object({
  ...ApiKeySchema.properties,
  key: Type.String({ maxLength: 64, description: 'The key; shown once, store it now' })
}, { additionalProperties: false })

/** ApiKeyListQuerySchema pages the caller's keys. */
export const ApiKeyListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })

/** ApiKeyListSchema is one page of the caller's keys, newest first. */
export const ApiKeyListSchema = Type.Object({
  items: Type.Array(ApiKeySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** ApiKeyIdParams names a key in the URL. */
export const ApiKeyIdParams = Type.Object({ id: Type.String({ format: 'uuid', maxLength: 36 }) }, { additionalProperties: false })
