import { idSchema } from '../../lib/ids.ts'
import { Type } from 'typebox'

const Slug = Type.String({ pattern: '^[a-z][a-z0-9-]{1,39}$', minLength: 2, maxLength: 40, description: 'The provider\'s name in URLs, e.g. google' })
const Url = Type.String({ format: 'uri', minLength: 8, maxLength: 2048 })

/** ProviderParams names a provider in the URL. */
export const ProviderParams = Type.Object({ provider: Slug }, { additionalProperties: false })

/** IdParams names a stored object by id. */
export const IdParams = Type.Object({ id: idSchema() }, { additionalProperties: false })

/** CreateProviderSchema adds a provider: a preset (google, microsoft, github) or any OpenID Connect issuer (generic). */
export const CreateProviderSchema = Type.Object({
  slug: Slug,
  preset: Type.Union([Type.Literal('google'), Type.Literal('microsoft'), Type.Literal('generic'), Type.Literal('github')]),
  displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
  issuer: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048, description: 'The issuer URL (generic); its /.well-known/openid-configuration is read' })),
  tenant: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]{1,100}$', maxLength: 100, description: 'Microsoft: the directory (tenant) id; default common' })),
  clientId: Type.String({ minLength: 1, maxLength: 512 }),
  clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Stored sealed; never shown again' })),
  scopes: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_:./-]+( [A-Za-z0-9_:./-]+)*$', maxLength: 512, description: 'Space-separated; OpenID Connect: starting with openid, default "openid email profile"; GitHub: default "read:user user:email"' })),
  endpoints: Type.Optional(Type.Object({
    authorization: Type.Optional(Url),
    token: Type.Optional(Url),
    user: Type.Optional(Type.String({ format: 'uri', minLength: 8, maxLength: 2048, description: 'The /user API URL; its /emails is read as well' }))
  }, { additionalProperties: false, description: 'GitHub only: GitHub Enterprise Server URLs; github.com by default' }))
}, { additionalProperties: false })

/** ProviderSchema is a provider as admins see it (never the client secret). */
export const ProviderSchema = Type.Object({
  id: idSchema(),
  slug: Type.String(),
  displayName: Type.String(),
  issuer: Type.String(),
  clientId: Type.String(),
  scopes: Type.String(),
  enabled: Type.Boolean(),
  callbackUrl: Type.String({ description: 'Register this redirect URI at the provider' })
}, { additionalProperties: false })

/** ProviderListSchema lists providers for admins. */
export const ProviderListSchema = Type.Object({ items: Type.Array(ProviderSchema, { maxItems: 100 }) }, { additionalProperties: false })

/** PublicProviderListSchema is what a sign-in page shows: names and labels. */
export const PublicProviderListSchema = Type.Object({
  items: Type.Array(Type.Object({ slug: Type.String(), displayName: Type.String() }, { additionalProperties: false }), { maxItems: 100 })
}, { additionalProperties: false })

/** StartSchema names where the browser returns when the provider is done. */
export const StartSchema = Type.Object({ returnTo: Url }, { additionalProperties: false })

/** LinkStartSchema names the provider to link to the signed-in account and where the browser returns. */
export const LinkStartSchema = Type.Object({ provider: Slug, returnTo: Url }, { additionalProperties: false })

/** AuthorizationUrlSchema is where to send the browser. */
export const AuthorizationUrlSchema = Type.Object({ authorizationUrl: Type.String() }, { additionalProperties: false })

/** CallbackQuery is the provider's redirect back (providers may add parameters of their own). */
export const CallbackQuery = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 512 })),
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  iss: Type.Optional(Type.String({ maxLength: 2048 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 }))
})

/** ExchangeSchema trades the login_code of the return URL for a session. */
export const ExchangeSchema = Type.Object({ loginCode: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false })

/** ConfirmLinkSchema links a provider to the existing account with the same email: the account's password proves it. */
export const ConfirmLinkSchema = Type.Object({
  linkToken: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', minLength: 6, maxLength: 6 }))
}, { additionalProperties: false })

/** IdentityListSchema is the user's linked providers. */
export const IdentityListSchema = Type.Object({
  items: Type.Array(Type.Object({
    id: idSchema(),
    provider: Type.String(),
    displayName: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
  }, { additionalProperties: false }), { maxItems: 100 })
}, { additionalProperties: false })
