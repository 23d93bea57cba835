import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { deriveKey } from '../../lib/secret-box.ts'
import { masterSecret } from '../../platform/master-secret.ts'
import { defineModule } from '../../platform/modules.ts'
import { CHANNEL_NAME, IN_APP, type NotificationChannel } from './channels.ts'
import { createDelivery } from './delivery.ts'
import { emailChannel } from './email.ts'
import { createIntake, DELIVER_JOB, type DeliverJob } from './intake.ts'
import { createNotificationsRepository } from './repository.ts'
import { notificationsRoutes } from './routes.ts'
import { createNotificationsService, type NotificationsService } from './service.ts'
import { createTypeRegistry, type NotificationType } from './types.ts'
import { createUnsubscribeSigner } from './unsubscribe.ts'
import { unsubscribeRoutes } from './unsubscribe-routes.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type NotificationChannel, type NotificationDelivery } from './channels.ts'
export { type NotificationRecipient, type NotificationType } from './types.ts'
export { type NotificationsService } from './service.ts'

/** Notifications is `app.notifications`: the inbox service, and the ports higher modules plug into. */
export type Notifications = NotificationsService & {
  /** declare adds notification types (a module's `notifications.ts`), as permissions are declared. */
  declare: (...types: NotificationType[]) => void
  /** addChannel plugs in a delivery channel (push, a team's); its name is what preferences call it. */
  addChannel: (channel: NotificationChannel) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** notifications is the inbox and its ports: `declare(...types)` for modules' notification types, `addChannel` for delivery channels, `sweep(now)` for retention (tests drive it). */
    notifications: Notifications
  }
}

/** SWEEP_INTERVAL_MS is how often each serving node deletes notifications past retention. */
const SWEEP_INTERVAL_MS = 3600_000

/** notificationsModule keeps each user's inbox, made from events by the declared types' rules, and delivers it by email and the channels plugged in. */
export default defineModule({
  name: 'notifications',
  plugin: fp(async (app) => {
    const settings = app.config.notifications
    // Derived on first use: the master secret may be read from (or written to) the data dir.
    let key: Buffer | undefined
    const signer = createUnsubscribeSigner(() => (key ??= deriveKey(masterSecret(app.config), 'notification-unsubscribe')))
    const repo = createNotificationsRepository(app.db)
    const registry = createTypeRegistry()
    const channels = new Map<string, NotificationChannel>()
    const addChannel = (channel: NotificationChannel) => {
      if (!CHANNEL_NAME.test(channel.name) || channel.name === IN_APP) throw new Error(`notification channel name "${channel.name}" must be lower-case letters, digits, '_' or '-' (and not ${IN_APP})`)
      if (channels.has(channel.name)) throw new Error(`notification channel "${channel.name}" is added twice`)
      channels.set(channel.name, channel)
    }
    const service = createNotificationsService({ db: app.db, repo, registry, signer, retentionDays: settings.retentionDays, cursors: listCursors(app.config) })
    app.decorate('notifications', { ...service, declare: registry.declare, addChannel })

    const apiUrl = (app.config.http.publicUrl ?? `http://localhost:${app.config.http.port}`).replace(/\/+$/, '')
    addChannel(emailChannel({ mailer: app.mailer, users: app.users, signer, apiUrl, appUrl: app.config.auth.linkUrl }))
    app.events.onPublish(createIntake({ repo, registry, channels, events: app.events, queue: app.queue, digestSeconds: settings.digestSeconds, log: app.log.child({ module: 'notifications' }) }))
    app.queue.define<DeliverJob>(DELIVER_JOB, createDelivery({ db: app.db, repo, channels }), { retryLimit: 20, retryDelaySeconds: 10, retryBackoff: true, concurrency: 2 })

    // Retention runs on nodes that serve traffic; inject()-only apps (tests) call sweep themselves.
    let timer: NodeJS.Timeout | undefined
    app.addHook('onListen', async () => {
      timer = setInterval(() => { service.sweep().catch((err: unknown) => { app.log.warn({ err }, 'notification retention sweep failed') }) }, SWEEP_INTERVAL_MS)
      timer.unref()
    })
    app.addHook('preClose', async () => { clearInterval(timer) })
    await app.register(notificationsRoutes(service))
    await app.register(unsubscribeRoutes(service))
  }, { name: 'notifications', dependencies: ['auth', 'events', 'queue', 'mailer', 'users'] })
})
