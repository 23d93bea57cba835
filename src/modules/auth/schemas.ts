import { Type } from 'typebox'

const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 })
// Passwords are bounded generously here; the policy (≤ 128 characters) gives the precise error.
const Password = Type.String({ minLength: 1, maxLength: 1024 })
const Opaque = Type.String({ minLength: 1, maxLength: 256 })

/** RegisterSchema is a registration request. */
export const RegisterSchema = Type.Object({
  email: Email,
  password: Password,
  name: Type.Optional(Type.String({ maxLength: 200 })),
  inviteToken: Type.Optional(Opaque)
}, { additionalProperties: false })

/** CreateAccountSchema is an admin adding a person: they choose their password from the mailed link. */
export const CreateAccountSchema = Type.Object({
  email: Email,
  name: Type.Optional(Type.String({ maxLength: 200 })),
  roles: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', maxLength: 40 }), { minItems: 1, maxItems: 20, uniqueItems: true }))
}, { additionalProperties: false })

/** LoginSchema is a sign-in request. */
export const LoginSchema = Type.Object({ email: Email, password: Password }, { additionalProperties: false })

/** RefreshSchema carries the refresh token in the body (never in the URL). */
// Bounded like a bearer token (8 KiB), not like our 43-character refresh tokens: any other token
// sent here, an access token above all, must be refused as a credential (401), not as malformed input (AU-04).
export const RefreshSchema = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false })

/** TokenPairSchema is a sign-in or refresh result. */
export const TokenPairSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  refreshToken: Type.String(),
  sessionId: Type.String({ format: 'uuid' })
}, { additionalProperties: false })

/** AcceptedSchema is the reply of flows that must not reveal whether an account exists. */
export const AcceptedSchema = Type.Object({ status: Type.Literal('accepted'), message: Type.String() }, { additionalProperties: false })

/** EmailOnlySchema is a request naming an email address. */
export const EmailOnlySchema = Type.Object({ email: Email }, { additionalProperties: false })

/** TokenOnlySchema spends a mailed token. */
export const TokenOnlySchema = Type.Object({ token: Opaque }, { additionalProperties: false })

/** ResetPasswordSchema sets a new password with a reset token. */
export const ResetPasswordSchema = Type.Object({ token: Opaque, password: Password }, { additionalProperties: false })

/** ChangePasswordSchema needs the current password. */
export const ChangePasswordSchema = Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false })

/** SessionSchema is one sign-in as its owner sees it. */
export const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  current: Type.Boolean(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

/** SessionListSchema is the user's live sessions. */
export const SessionListSchema = Type.Object({ items: Type.Array(SessionSchema) }, { additionalProperties: false })

/** SessionIdParams names a session in the URL. */
export const SessionIdParams = Type.Object({ id: Type.String({ format: 'uuid', maxLength: 36 }) }, { additionalProperties: false })
