import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

const Id = idSchema()
const TypeName = Type.String({ minLength: 1, maxLength: 100, description: 'A declared notification type, e.g. execution.failed' })

/** NotificationSchema is a notification as the API returns it. */
export const NotificationSchema = Type.Object({
  id: Id,
  type: Type.String(),
  title: Type.String(),
  body: Type.String(),
  link: Type.Union([Type.String({ description: 'Path in the app the notification is about' }), Type.Null()]),
  readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

/** NotificationListSchema is a page of the inbox, newest first. */
export const NotificationListSchema = Type.Object({
  items: Type.Array(NotificationSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** NotificationListQuerySchema pages the inbox; `unread=true` keeps the unread ones. */
export const NotificationListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  unread: Type.Boolean({ default: false })
}, { additionalProperties: false })

/** UnreadCountSchema is how many of the caller's notifications are unread. */
export const UnreadCountSchema = Type.Object({ unread: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })

/** MarkedSchema says how many notifications a "mark all read" changed. */
export const MarkedSchema = Type.Object({ marked: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })

/** IdParams is the `:id` of a notification's URL. */
export const IdParams = Type.Object({ id: Id })

const ChannelSettings = Type.Object({
  in_app: Type.Boolean({ description: 'The inbox and its realtime event: always on' }),
  email: Type.Boolean(),
  push: Type.Boolean()
}, { additionalProperties: false })

/** PreferencesSchema lists every declared type with the caller's effective setting per channel. */
export const PreferencesSchema = Type.Object({
  items: Type.Array(Type.Object({
    type: Type.String(),
    description: Type.String(),
    channels: ChannelSettings,
    defaults: Type.Object({ email: Type.Boolean(), push: Type.Boolean() }, { additionalProperties: false })
  }, { additionalProperties: false }))
}, { additionalProperties: false })

/** UpdatePreferencesSchema sets some types' channels; what it does not name keeps its setting. */
export const UpdatePreferencesSchema = Type.Object({
  items: Type.Array(Type.Object({
    type: TypeName,
    channels: Type.Object({ email: Type.Optional(Type.Boolean()), push: Type.Optional(Type.Boolean()) }, { additionalProperties: false })
  }, { additionalProperties: false }), { minItems: 1, maxItems: 100 })
}, { additionalProperties: false })

/** UnsubscribeQuerySchema carries the signed token of a notification mail's unsubscribe link. */
export const UnsubscribeQuerySchema = Type.Object({ token: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false })

/** UnsubscribedSchema says which types' email the link turned off. */
export const UnsubscribedSchema = Type.Object({
  types: Type.Array(Type.String()),
  email: Type.Literal(false)
}, { additionalProperties: false })

/** Notification is a notification as the API returns it. */
export type Notification = Static<typeof NotificationSchema>
/** NotificationListQuery is a validated inbox query. */
export type NotificationListQuery = Static<typeof NotificationListQuerySchema>
/** Preferences is the preferences reply. */
export type Preferences = Static<typeof PreferencesSchema>
/** UpdatePreferences is a validated preferences body. */
export type UpdatePreferences = Static<typeof UpdatePreferencesSchema>
