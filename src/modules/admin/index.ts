import fp from 'fastify-plugin'
import { defineModule } from '../../platform/modules.ts'
import { adminPermissions } from './permissions.ts'
import { createDeadLetters } from './dead-letters.ts'
import { queueRoutes } from './queue-routes.ts'
import { healthRoutes } from './health-routes.ts'
import { settingsRoutes } from './settings-routes.ts'
import { consoleRoutes, defaultConsoleDir } from './console.ts'

/** adminModule serves the operators' views under /api/v1/admin that belong to no other module (the job queue, detailed health), and the admin console at /admin. */
export default defineModule({
  name: 'admin',
  plugin: fp(async (app) => {
    // Declared without user grants: only the admin role (which has every permission) holds them.
    app.rbac.define(adminPermissions)
    await app.register(queueRoutes(createDeadLetters({ db: app.db, queue: app.queue, audit: app.securityEvents })))
    await app.register(healthRoutes)
    await app.register(settingsRoutes)
    await app.register(consoleRoutes(app.config.console.dir ?? defaultConsoleDir))
  }, { name: 'admin', dependencies: ['db', 'queue', 'rbac', 'auth', 'security-events', 'health-details'] })
})
