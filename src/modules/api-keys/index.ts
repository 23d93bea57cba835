import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { adminApiKeyRoutes } from './admin-routes.ts'
import { apiKeysRoutes } from './routes.ts'
import { apiKeyScheme, refuseAmbiguousCredentials } from './scheme.ts'
import { createApiKeysService, type ApiKeysService } from './service.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type ApiKeysService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** apiKeys issues and checks `bp_` keys; the agents module binds agent credentials through it. */
    apiKeys: ApiKeysService
  }
}

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
    await app.register(apiKeysRoutes(keys))
    await app.register(adminApiKeyRoutes(keys, app.users))
  }, { name: 'api-keys', dependencies: ['auth', 'auth-module', 'users', 'cache', 'rbac', 'events', 'security-events'] })
})
