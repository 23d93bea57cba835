import { Type } from 'typebox'

const Id = Type.String({ format: 'uuid', maxLength: 36 })
const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

/** FRONTEND_NAME_PATTERN: lowercase letters, digits and dashes; the name appears in token audiences and channel names. */
export const FRONTEND_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$'

const Name = Type.String({ pattern: FRONTEND_NAME_PATTERN, minLength: 1, maxLength: 63, description: 'Unique; lowercase letters, digits and dashes' })
const Framework = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,39}$', maxLength: 40, description: 'react-vite, next, expo, flutter, ios, android…' })
const Origins = Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
  maxItems: 50,
  description: 'Exact browser origins (scheme://host[:port]) the frontend is served from; none for native apps, which send no Origin'
})
const RateTier = Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', maxLength: 40, description: 'A tier of FRONTEND_RATE_TIERS' })
const PathPrefix = Type.String({ pattern: '^/[A-Za-z0-9._~/-]{0,199}$', maxLength: 200, description: 'The API path the frontend calls through (its dev-server proxy or SDK base path)' })

/** CreateFrontendSchema registers a frontend by hand (a production origin, a mobile app). */
export const CreateFrontendSchema = Type.Object({
  name: Name,
  framework: Type.Optional(Framework),
  origins: Type.Optional(Origins),
  rateTier: Type.Optional(RateTier),
  pathPrefix: Type.Optional(PathPrefix),
  enabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

/** UpdateFrontendSchema changes a frontend; the name is its identity (tokens and channels carry it) and stays, and so does its channel namespace. */
export const UpdateFrontendSchema = Type.Object({
  framework: Type.Optional(Type.Union([Framework, Type.Null()])),
  origins: Type.Optional(Origins),
  rateTier: Type.Optional(RateTier),
  pathPrefix: Type.Optional(Type.Union([PathPrefix, Type.Null()])),
  enabled: Type.Optional(Type.Boolean({ description: 'false takes its origins off the CORS allow-list and refuses its key, on every node at once' }))
}, { additionalProperties: false, minProperties: 1 })

/** FrontendSchema is a registered frontend as admins see it; never its key. */
export const FrontendSchema = Type.Object({
  id: Id,
  name: Type.String({ maxLength: 63 }),
  framework: Nullable(Type.String({ maxLength: 40 })),
  origins: Type.Array(Type.String({ maxLength: 255 }), { maxItems: 50 }),
  rateTier: Type.String({ maxLength: 40 }),
  pathPrefix: Nullable(Type.String({ maxLength: 200 })),
  channelNamespace: Type.String({ maxLength: 100, description: 'frontend:<name>: realtime channels frontend:<name>:<topic> reach only sessions signed in through this frontend' }),
  enabled: Type.Boolean(),
  source: Type.Union([Type.Literal('detected'), Type.Literal('manual')]),
  detectedPath: Nullable(Type.String({ maxLength: 4096, description: 'Where `backplane frontends sync` found it' })),
  missingSince: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime
}, { additionalProperties: false })

/** FrontendWithKeySchema is the create and rotate-key reply: the only time the key is shown. */
export const FrontendWithKeySchema = Type.Object({
  frontend: FrontendSchema,
  apiKey: Type.String({ maxLength: 64, description: 'The frontend\'s key, sent as X-Frontend-Key; a public client id (it ships in the app), shown once' })
}, { additionalProperties: false })

/** FrontendListQuerySchema pages the registry, optionally filtered. */
export const FrontendListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  enabled: Type.Optional(Type.Boolean()),
  source: Type.Optional(Type.Union([Type.Literal('detected'), Type.Literal('manual')]))
}, { additionalProperties: false })

/** FrontendListSchema is one page of frontends, newest first. */
export const FrontendListSchema = Type.Object({ items: Type.Array(FrontendSchema), nextCursor: Nullable(Type.String()) }, { additionalProperties: false })

/** FrontendIdParams names a frontend in the URL. */
export const FrontendIdParams = Type.Object({ id: Id }, { additionalProperties: false })
