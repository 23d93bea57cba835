import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
const Base64Url = (description: string, maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$', description })

/** CreatePushSubscriptionSchema is the browser's PushSubscription JSON (`subscription.toJSON()`), with an optional device name. */
export const CreatePushSubscriptionSchema = Type.Object({
  endpoint: Type.String({ minLength: 1, maxLength: 2048, description: 'The push service URL the browser gave (https)' }),
  expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()], { description: 'As the browser gives it; ignored (a 404/410 from the push service ends the subscription)' })),
  keys: Type.Object({
    p256dh: Base64Url('The browser\'s P-256 public key: 65 bytes (uncompressed point), base64url', 100),
    auth: Base64Url('The browser\'s authentication secret: 16 bytes, base64url', 30)
  }, { additionalProperties: false }),
  deviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'A name the user recognises the device by, e.g. "Laptop, Firefox"' }))
}, { additionalProperties: false })

/** CreatePushSubscription is a subscription as posted. */
export type CreatePushSubscription = Static<typeof CreatePushSubscriptionSchema>

/** PushSubscriptionSchema is a subscription as its owner sees it: never the endpoint's path or the keys. */
export const PushSubscriptionSchema = Type.Object({
  id: idSchema(),
  pushService: Type.String({ maxLength: 2048, description: 'The origin of the push service (e.g. https://fcm.googleapis.com)' }),
  deviceName: Type.Union([Type.String({ maxLength: 100 }), Type.Null()]),
  lastSentAt: Type.Union([DateTime, Type.Null()]),
  createdAt: DateTime,
  updatedAt: DateTime
})

/** PushSubscription is the public view of a subscription. */
export type PushSubscription = Static<typeof PushSubscriptionSchema>

/** PushSubscriptionListSchema is the caller's subscriptions, newest first (at most PUSH_MAX_SUBSCRIPTIONS_PER_USER). */
export const PushSubscriptionListSchema = Type.Object({ items: Type.Array(PushSubscriptionSchema, { maxItems: 1000 }) })

/** VapidPublicKeySchema is what a browser passes to `pushManager.subscribe` as `applicationServerKey`. */
export const VapidPublicKeySchema = Type.Object({
  publicKey: Type.String({ maxLength: 100, description: 'The VAPID public key: an uncompressed P-256 point, base64url' })
})

/** IdParams names one subscription. */
export const IdParams = Type.Object({ id: idSchema() })
