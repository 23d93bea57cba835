import fp from 'fastify-plugin'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { memberRoutes } from './member-routes.ts'
import { createMembersService } from './members-service.ts'
import { projectPermissions, userProjectPermissions } from './permissions.ts'
import { projectNotificationTypes } from './notifications.ts'
import { projectsRoutes } from './routes.ts'
import { createProjectsService, type ProjectsService } from './service.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type ProjectAccess, type ProjectsService } from './service.ts'
export { type ProjectRole } from './table.ts'
export { projects } from './table.ts'
export { PROJECT_READ } from './permissions.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** projects is the projects service: other modules call requireAccess, visibleProjectIds and roleOf. */
    projects: ProjectsService
  }
}

/** projectsModule groups tasks into projects with owner, editor and viewer members. */
export default defineModule({
  name: 'projects',
  plugin: fp(async (app) => {
    app.rbac.define(projectPermissions, userProjectPermissions)
    const cursors = listCursors(app.config)
    const projects = createProjectsService({ db: app.db, events: app.events, audit: app.securityEvents, cursors })
    app.decorate('projects', projects)
    app.notifications.declare(...projectNotificationTypes(app.db))
    await app.register(projectsRoutes(projects))
    await app.register(memberRoutes(createMembersService({ db: app.db, users: app.users, cursors, events: app.events, audit: app.securityEvents })))
  }, { name: 'projects', dependencies: ['auth', 'users', 'rbac', 'events', 'security-events', 'notifications'] })
})
