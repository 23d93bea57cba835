import fp from 'fastify-plugin'
import { defineModule } from '../../platform/modules.ts'
import { createHttpWindow } from './http-window.ts'
import { analyticsPermissions } from './permissions.ts'
import { createPresence } from './presence.ts'
import { createAnalyticsRepository } from './repository.ts'
import { analyticsRoutes } from './routes.ts'
import { createAnalyticsService } from './service.ts'

/** analyticsModule serves the admin console's figures: aggregates in SQL over bounded ranges, this node's request window, health, live nodes. */
export default defineModule({
  name: 'analytics',
  plugin: fp(async (app) => {
    // Declared without user grants: only the admin role (which has every permission) holds it.
    app.rbac.define(analyticsPermissions)
    const http = createHttpWindow(app.metrics)
    // Presence: a node that serves (onListen, so CLI commands never count) keeps a row in `nodes`.
    const presence = createPresence({
      db: app.db,
      state: async () => {
        const d = await app.healthDetails()
        return { name: d.node.id, version: d.version, startedAt: new Date(d.node.startedAt), ready: d.status === 'ok' || d.status === 'degraded' }
      },
      onError: (err) => { app.log.warn({ err }, 'node presence beat failed') }
    })
    app.addHook('onListen', async () => { http.start(); await presence.start() })
    app.addHook('preClose', async () => { await presence.stop() })
    app.addHook('onClose', async () => { http.stop() })
    const analytics = createAnalyticsService({ repo: createAnalyticsRepository(app.db), http, app, presence })
    await app.register(analyticsRoutes(analytics))
  }, { name: 'analytics', dependencies: ['db', 'metrics', 'health-details', 'queue', 'breakers', 'rbac', 'auth', 'executions', 'agents'] })
})
