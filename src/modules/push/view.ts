import type { PushSubscription } from './schemas.ts'
import type { PushSubscriptionRow } from './table.ts'

/** toPushSubscription is the only way a stored subscription leaves the module: its endpoint shortened to the push service's origin, its keys kept server-side. */
export function toPushSubscription (row: PushSubscriptionRow): PushSubscription {
  return {
    id: row.id,
    pushService: new URL(row.endpoint).origin,
    deviceName: row.deviceName,
    lastSentAt: row.lastSentAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}
