import fp from 'fastify-plugin'
import { defineModule } from '../../platform/modules.ts'
import { createHttpWindow } from './http-window.ts'
import { analyticsPermissions } from './permissions.ts'
import { createAnalyticsRepository } from './repository.ts'
import { analyticsRoutes } from './routes.ts'
import { createAnalyticsService } from './service.ts'

/** analyticsModule serves the admin console's figures: aggregates in SQL over bounded ranges, this node's request window, health. */
export default defineModule({
  name: 'analytics',
  plugin: fp(async (app) => {
    // Declared without user grants: only the admin role (which has every permission) holds it.
    app.rbac.define(analyticsPermissions)
    const http = createHttpWindow(app.metrics)
    app.addHook('onListen', async () => { http.start() })
    app.addHook('onClose', async () => { http.stop() })
    const analytics = createAnalyticsService({ repo: createAnalyticsRepository(app.db), http, app })
    await app.register(analyticsRoutes(analytics))
  }, { name: 'analytics', dependencies: ['db', 'metrics', 'health-details', 'queue', 'breakers', 'rbac', 'auth', 'executions', 'agents'] })
})
