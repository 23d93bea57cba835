import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { defineFrontendPermissions } from './permissions.ts'
import { createFrontendRegistry } from './registry.ts'
import { frontendResolver } from './resolver.ts'
import { frontendsRoutes } from './routes.ts'
import { createFrontendsService, type FrontendsService } from './service.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type SyncEntry } from './sync.ts'
export { frontends } from './table.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** frontends is the registry of frontends (the CLI's sync and watch call it). */
    frontends: FrontendsService
  }
}

/**
 * frontendsModule keeps the registry of frontends: its enabled origins join the CORS allow-list of
 * every node without a restart, and its keys attribute requests (rate tier, logs, metrics, audit,
 * token audience).
 */
export default defineModule({
  name: 'frontends',
  plugin: fp(async (app) => {
    defineFrontendPermissions(app.rbac)
    // The registry reads through the service, and the service tells the registry of every change.
    const registry = createFrontendRegistry({
      load: () => frontends.snapshot(),
      corsOrigins: app.corsOrigins,
      pubsub: app.pubsub,
      log: app.log,
      reloadMs: app.config.frontends.reloadSeconds * 1000
    })
    const frontends = createFrontendsService({
      db: app.db,
      apiKeys: app.apiKeys,
      audit: app.securityEvents,
      rateTiers: app.config.frontends.rateTiers,
      onChanged: () => registry.changed(),
      cursors: listCursors(app.config)
    })
    app.decorate('frontends', frontends)
    app.frontendContext.setResolver(frontendResolver({ registry, apiKeys: app.apiKeys, securityEvents: app.securityEvents }))
    // Loaded before the first request is answered: a node never serves with a partial allow-list after a restart.
    app.corsOrigins.loadWith(registry.refresh)
    app.addHook('onReady', async () => { await registry.start() })
    app.addHook('onClose', async () => { await registry.stop() })
    await app.register(frontendsRoutes(frontends))
  }, { name: 'frontends', dependencies: ['auth', 'rbac', 'api-keys', 'pubsub', 'cors-origins', 'frontend-context', 'security-events'] })
})
