import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import { defineModule } from 'backplane'
import { defineNotePermissions } from './permissions.ts'
import { notesRoutes } from './routes.ts'
import { createNotesService } from './service.ts'

/** notesModule is a team's own module: its table ships in its own migrations folder, applied by `start()`. */
export default defineModule({
  name: 'notes',
  migrations: fileURLToPath(new URL('../../migrations', import.meta.url)),
  plugin: fp(async (app) => {
    defineNotePermissions(app.rbac)
    await app.register(notesRoutes(createNotesService({ db: app.db, events: app.events })))
  }, { name: 'notes', dependencies: ['auth', 'rbac', 'db', 'events'] })
})
