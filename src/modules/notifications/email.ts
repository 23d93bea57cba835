import type { Mailer, MailMessage } from '../../platform/mailer.ts'
import type { UsersService } from '../users/index.ts'
import type { NotificationChannel, NotificationDelivery } from './channels.ts'
import type { UnsubscribeSigner } from './unsubscribe.ts'

/** EMAIL is the built-in email channel's name. */
export const EMAIL = 'email'

/**
 * emailChannel mails a user's pending notifications: one mail for one, a digest for several. Each
 * mail carries a one-click unsubscribe link for its types (RFC 8058 headers and a line in the body).
 * The mail is queued with a key made of the notification ids, so a retried delivery job mails once.
 */
export function emailChannel ({ mailer, users, signer, apiUrl, appUrl }: {
  mailer: Mailer
  users: UsersService
  signer: UnsubscribeSigner
  /** apiUrl is the API's public base URL (the unsubscribe link). */
  apiUrl: string
  /** appUrl is the frontend's base URL (AUTH_LINK_URL): a notification's link is a path in it, and so is the unsubscribe page. */
  appUrl: string
}): NotificationChannel {
  // The header's link is for mail clients (RFC 8058: they POST to it); the body's opens the frontend's
  // page, which POSTs the token to the API, as the sign-in flows' mailed links do (a GET changes nothing).
  const oneClickUrl = (userId: string, types: string[]) => `${apiUrl}/api/v1/notifications/unsubscribe?token=${signer.sign({ userId, types })}`
  const pageUrl = (userId: string, type: string) => `${appUrl}/notifications/unsubscribe?token=${signer.sign({ userId, types: [type] })}`
  const line = (n: NotificationDelivery) => `${n.title}\n${n.body}${n.link ? `\n${appUrl}${n.link}` : ''}`

  function compose (to: string, userId: string, items: readonly NotificationDelivery[]): MailMessage {
    const types = [...new Set(items.map((n) => n.type))].sort()
    const all = oneClickUrl(userId, types)
    const stops = types.map((t) => `Stop emails about ${t}: ${pageUrl(userId, t)}`).join('\n')
    const first = items[0]!
    const subject = items.length === 1 ? first.title : `${items.length} new notifications`
    const text = items.length === 1
      ? `${line(first)}\n\n${stops}\n`
      : `You have ${items.length} new notifications:\n\n${items.map(line).join('\n\n')}\n\n${stops}\n`
    return { to, subject, text, headers: { 'List-Unsubscribe': `<${all}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } }
  }

  return {
    name: EMAIL,
    async deliver (items) {
      const byUser = Map.groupBy(items, (n) => n.userId)
      for (const [userId, mine] of byUser) {
        // A disabled or deleted account gets no mail; its notifications count as delivered.
        const user = await users.findActive({ id: userId })
        if (!user) continue
        await mailer.send(compose(user.email, userId, mine), undefined, { key: `notifications:${mine.map((n) => n.id).join(',')}` })
      }
    }
  }
}
