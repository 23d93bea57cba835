import { Type, type Static } from 'typebox'

const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 })

/** UserSchema is a user as clients see it: never a hash, a lock counter or a token. */
export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Email,
  name: Type.String({ maxLength: 200 }),
  roles: Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20 }),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('deleted')]),
  emailVerified: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  lastLoginAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, { additionalProperties: false })

/** User is the public view of an account. */
export type User = Static<typeof UserSchema>

/** UpdateMeSchema is what users may change about themselves here (email and password have their own flows). */
export const UpdateMeSchema = Type.Object({
  name: Type.String({ minLength: 0, maxLength: 200 })
}, { additionalProperties: false, minProperties: 1 })

/** AdminUpdateUserSchema is what an admin may change about an account. */
export const AdminUpdateUserSchema = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  roles: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', maxLength: 40 }), { minItems: 1, maxItems: 20, uniqueItems: true })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')]))
}, { additionalProperties: false, minProperties: 1 })

/** UserListQuerySchema filters and pages the admin user list. */
export const UserListQuerySchema = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  role: Type.Optional(Type.String({ maxLength: 40 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('deleted')])),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })

/** UserListSchema is one page of users. */
export const UserListSchema = Type.Object({
  items: Type.Array(UserSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** UserIdParams names a user in the URL. */
export const UserIdParams = Type.Object({ id: Type.String({ format: 'uuid', maxLength: 36 }) }, { additionalProperties: false })

/** EmailSchema is a validated email address. */
export const EmailSchema = Email
