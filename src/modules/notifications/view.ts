import type { NotificationDelivery } from './channels.ts'
import type { Notification } from './schemas.ts'
import type { NotificationRow } from './table.ts'

/** toNotification is the only way a stored notification leaves as an API object. */
export function toNotification (row: NotificationRow): Notification {
  return { id: row.id, type: row.type, title: row.title, body: row.body, link: row.link, readAt: row.readAt?.toISOString() ?? null, createdAt: row.createdAt.toISOString() }
}

/** toDelivery is a notification as a delivery channel receives it. */
export function toDelivery (row: NotificationRow): NotificationDelivery {
  return { id: row.id, userId: row.userId, type: row.type, title: row.title, body: row.body, link: row.link, createdAt: row.createdAt.toISOString() }
}
