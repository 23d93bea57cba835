import { defineModule } from '../../platform/modules.ts'
import { version } from '../../lib/version.ts'
import { createInstanceService } from './service.ts'
import { instanceRoutes } from './routes.ts'

/** instanceModule gives every instance a stable identity and serves it at GET /api/v1/instance. */
export default defineModule({
  name: 'instance',
  plugin: async (app) => {
    await app.register(instanceRoutes(createInstanceService({ db: app.db, version })))
  },
  seed: async ({ db }) => { await createInstanceService({ db, version }).seed() }
})
