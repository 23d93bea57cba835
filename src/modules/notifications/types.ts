import type { Database } from '../../platform/db.ts'
import type { PublishedEvent } from '../../platform/events.ts'

/** NotificationRecipient is one user a rule notifies about an event, with what the notification says. */
export interface NotificationRecipient { userId: string, title: string, body: string, link: string | null }

/**
 * NotificationType is a kind of notification declared as data, the way permissions are: which event
 * makes it, whom it goes to, and which channels are on until the user says otherwise.
 */
export interface NotificationType {
  /** type names it (`execution.failed`); preferences and unsubscribe links name it. */
  type: string
  /** description says what it tells, for the preferences page. */
  description: string
  /** on is the event type whose publication makes it. */
  on: string
  /** defaults are its channels' settings for a user who chose nothing ('in_app' is always on; a channel not named here is off). */
  defaults: { email: boolean, push: boolean } & Record<string, boolean>
  /** recipients reads, in the relay's transaction, whom the event notifies; an empty list notifies no one. */
  recipients: (event: PublishedEvent, tx: Database) => Promise<NotificationRecipient[]>
}

const TYPE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/

/** createTypeRegistry holds the declared types, by name and by the event that makes them. */
export function createTypeRegistry () {
  const byName = new Map<string, NotificationType>()
  const byEvent = new Map<string, NotificationType[]>()
  return {
    /** declare adds types; a second type of one name, or a malformed one, stops start-up. */
    declare (...types: NotificationType[]): void {
      for (const t of types) {
        if (!TYPE_NAME.test(t.type) || t.type.length > 100) throw new Error(`notification type "${t.type}" must be dotted lower-case words (e.g. execution.failed), at most 100 characters`)
        if (t.on.startsWith('notification.')) throw new Error(`notification type "${t.type}" cannot be made by a notification event`)
        if (byName.has(t.type)) throw new Error(`notification type "${t.type}" is declared twice`)
        byName.set(t.type, t)
        byEvent.set(t.on, [...(byEvent.get(t.on) ?? []), t])
      }
    },
    get: (type: string): NotificationType | undefined => byName.get(type),
    forEvent: (eventType: string): readonly NotificationType[] => byEvent.get(eventType) ?? [],
    /** all lists the declared types by name. */
    all: (): NotificationType[] => [...byName.values()].sort((a, b) => a.type.localeCompare(b.type))
  }
}

/** TypeRegistry holds the declared notification types. */
export type TypeRegistry = ReturnType<typeof createTypeRegistry>
