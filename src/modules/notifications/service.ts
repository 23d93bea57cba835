import type { CursorCodec } from '../../lib/cursor.ts'
import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import { notificationErrors } from './errors.ts'
import type { NotificationsRepository } from './repository.ts'
import type { Notification, NotificationListQuery, Preferences, UpdatePreferences } from './schemas.ts'
import type { TypeRegistry } from './types.ts'
import type { UnsubscribeSigner } from './unsubscribe.ts'
import { toNotification } from './view.ts'

const DAY_MS = 86_400_000
const SWEEP_BATCH = 1000

/** createNotificationsService holds the inbox rules: a notification is its user's alone; it never sees HTTP. */
export function createNotificationsService ({ db, repo, registry, signer, retentionDays, cursors }: {
  db: Database
  /** cursors signs the inbox's page cursors (one codec for every list). */
  cursors: CursorCodec
  repo: NotificationsRepository
  registry: TypeRegistry
  signer: UnsubscribeSigner
  retentionDays: number
}) {
  async function owned (actor: Actor, id: string) {
    const row = await repo.findOwned(actor.userId, id)
    if (!row) throw notificationErrors.NOTIFICATION_NOT_FOUND()
    return row
  }

  async function preferencesOf (userId: string): Promise<Preferences> {
    const chosen = new Map((await repo.preferences(userId)).map((p) => [`${p.type}\n${p.channel}`, p.enabled]))
    const setting = (type: string, channel: string, fallback: boolean) => chosen.get(`${type}\n${channel}`) ?? fallback
    return {
      items: registry.all().map((t) => ({
        type: t.type,
        description: t.description,
        channels: { in_app: true, email: setting(t.type, 'email', t.defaults.email), push: setting(t.type, 'push', t.defaults.push) },
        defaults: { email: t.defaults.email, push: t.defaults.push }
      }))
    }
  }

  return {
    /** list pages the caller's inbox, newest first. */
    async list (actor: Actor, query: NotificationListQuery): Promise<{ items: Notification[], nextCursor: string | null }> {
      // The scope names the user and the filter: a cursor is read back only in the list it came from.
      const scope = `notifications:${actor.userId}:${query.unread === true ? 'unread' : 'all'}`
      const cursor = cursors.after(scope, query.cursor)
      return cursors.pageOf(scope, await repo.list(actor.userId, query, cursor), query.limit, toNotification)
    },
    unreadCount: async (actor: Actor): Promise<{ unread: number }> => ({ unread: await repo.unreadCount(actor.userId) }),
    get: async (actor: Actor, id: string): Promise<Notification> => toNotification(await owned(actor, id)),
    /** markRead marks one of the caller's notifications read (idempotent); another user's is a 404. */
    async markRead (actor: Actor, id: string): Promise<Notification> {
      const row = await repo.markRead(actor.userId, id)
      if (!row) throw notificationErrors.NOTIFICATION_NOT_FOUND()
      return toNotification(row)
    },
    markAllRead: async (actor: Actor): Promise<{ marked: number }> => ({ marked: await repo.markAllRead(actor.userId) }),
    /** remove deletes one of the caller's notifications; another user's is a 404. */
    async remove (actor: Actor, id: string): Promise<void> {
      if (!await repo.remove(actor.userId, id)) throw notificationErrors.NOTIFICATION_NOT_FOUND()
    },
    preferences: async (actor: Actor): Promise<Preferences> => preferencesOf(actor.userId),
    /** setPreferences stores the caller's choices; a type nobody declared is a 400 and nothing is stored. */
    async setPreferences (actor: Actor, input: UpdatePreferences): Promise<Preferences> {
      // Keyed by (type, channel): a type named twice keeps its last setting (one upsert may not touch a row twice).
      const choices = new Map<string, { type: string, channel: string, enabled: boolean }>()
      for (const item of input.items) {
        if (!registry.get(item.type)) throw notificationErrors.NOTIFICATION_TYPE_UNKNOWN(`No notification type "${item.type}" is declared`)
        for (const [channel, enabled] of Object.entries(item.channels)) {
          if (typeof enabled === 'boolean') choices.set(`${item.type}\n${channel}`, { type: item.type, channel, enabled })
        }
      }
      await db.transaction(async (tx) => { await repo.setPreferences(actor.userId, [...choices.values()], tx) })
      return preferencesOf(actor.userId)
    },
    /** unsubscribe turns email off for the types a mail's signed link names, with no sign-in; a forged or altered token is a 400. */
    async unsubscribe (token: string): Promise<{ types: string[], email: false }> {
      const grant = signer.verify(token)
      if (!grant) throw notificationErrors.NOTIFICATION_UNSUBSCRIBE_INVALID()
      const types = grant.types.filter((t) => registry.get(t))
      await repo.setPreferences(grant.userId, types.map((type) => ({ type, channel: 'email', enabled: false })))
      return { types, email: false }
    },
    /** sweep deletes notifications older than the retention period; returns how many. */
    async sweep (now = new Date()): Promise<number> {
      const before = new Date(now.getTime() - retentionDays * DAY_MS)
      let total = 0
      for (;;) {
        const n = await repo.deleteOlderThan(before, SWEEP_BATCH)
        total += n
        if (n < SWEEP_BATCH) return total
      }
    }
  }
}

/** NotificationsService is the notifications module's inbox service. */
export type NotificationsService = ReturnType<typeof createNotificationsService>
