import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { createUsersService, type UsersService } from './service.ts'
import { usersRoutes } from './routes.ts'
import { userPermissions } from './permissions.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type User, UserSchema } from './schemas.ts'
export { type SessionRevoker, type UsersService } from './service.ts'
export { users } from './table.ts'
export { USER_READ } from './permissions.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** users is the accounts service; the auth module signs people in through it. */
    users: UsersService
  }
}

/** usersModule owns accounts: profiles, roles, status, and the admin API over them. */
export default defineModule({
  name: 'users',
  plugin: fp(async (app) => {
    app.rbac.define(userPermissions)
    const users = createUsersService({
      db: app.db,
      cache: app.cache,
      rbac: app.rbac,
      events: app.events,
      audit: app.securityEvents,
      cursors: listCursors(app.config)
    })
    app.decorate('users', users)
    await app.register(usersRoutes(users))
  }, { name: 'users', dependencies: ['auth', 'cache', 'rbac', 'events', 'security-events'] })
})
