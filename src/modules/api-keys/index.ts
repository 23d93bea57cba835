import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { adminApiKeyRoutes } from './admin-routes.ts'
import { createExpiryNotices } from './expiry.ts'
import { apiKeyNotificationTypes } from './notifications.ts'
import { apiKeysRoutes } from './routes.ts'
import { apiKeyScheme, refuseAmbiguousCredentials } from './scheme.ts'
import { createApiKeysService, type ApiKeysService } from './service.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type ApiKeysService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** apiKeys issues and checks `bp_` keys; the agents module binds agent credentials through it. */
    apiKeys: ApiKeysService
    /** apiKeyExpiry tells owners of keys that expire soon, once per key; `notifyExpiring(now)` runs one sweep (tests drive it). */
    apiKeyExpiry: ReturnType<typeof createExpiryNotices>
  }
}

/** EXPIRY_SWEEP_MS is how often each serving node looks for keys that expire soon. */
const EXPIRY_SWEEP_MS = 3600_000

/** apiKeysModule issues `bp_` API keys to users and authenticates requests sent with `X-API-Key`. */
export default defineModule({
  name: 'api-keys',
  plugin: fp(async (app) => {
    const keys = createApiKeysService({ db: app.db, cache: app.cache, rbac: app.rbac, users: app.users, events: app.events, audit: app.securityEvents, log: app.log, cursors: listCursors(app.config) })
    app.decorate('apiKeys', keys)
    // Registered after the auth module, so the bearer scheme is tried first.
    app.auth.addScheme(apiKeyScheme({ keys, users: app.users, rbac: app.rbac }))
    app.addHook('onRequest', refuseAmbiguousCredentials)
    app.addHook('onClose', async () => { await keys.settle() })
    app.notifications.declare(...apiKeyNotificationTypes())
    const expiry = createExpiryNotices({ db: app.db, events: app.events, days: app.config.notifications.keyExpiryDays })
    app.decorate('apiKeyExpiry', expiry)
    // The sweep runs on nodes that serve traffic; inject()-only apps (tests) call it themselves.
    let timer: NodeJS.Timeout | undefined
    app.addHook('onListen', async () => {
      timer = setInterval(() => { expiry.notifyExpiring().catch((err: unknown) => { app.log.warn({ err }, 'API key expiry sweep failed') }) }, EXPIRY_SWEEP_MS)
      timer.unref()
    })
    app.addHook('preClose', async () => { clearInterval(timer) })
    await app.register(apiKeysRoutes(keys))
    await app.register(adminApiKeyRoutes(keys, app.users))
  }, { name: 'api-keys', dependencies: ['auth', 'auth-module', 'users', 'cache', 'rbac', 'events', 'security-events', 'notifications'] })
})
