import fp from 'fastify-plugin'
import { deriveKey } from '../../lib/secret-box.ts'
import { listCursors } from '../../platform/cursors.ts'
import { masterSecret } from '../../platform/master-secret.ts'
import { defineModule } from '../../platform/modules.ts'
import { createStorage } from '../../platform/storage.ts'
import { defineFilePermissions } from './permissions.ts'
import { filesRoutes } from './routes.ts'
import { createFilesService, type FilesService } from './service.ts'
import { createLinkSigner } from './signing.ts'
import { resumableRoutes } from './resumable-routes.ts'
import { uploadRoutes } from './upload-routes.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type FilesService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** files is the files service; `sweep(now)` runs one round of background deletion (tests drive it). */
    files: FilesService
  }
}

/** SWEEP_INTERVAL_MS is how often each serving node deletes orphaned and expired files. */
const SWEEP_INTERVAL_MS = 30_000

/** filesModule stores project files, task attachments and run artifacts on local disk or an S3-compatible store. */
export default defineModule({
  name: 'files',
  plugin: fp(async (app) => {
    defineFilePermissions(app.rbac)
    const storage = await createStorage(app.config)
    // Derived on first use: the master secret may be read from (or written to) the data dir.
    let key: Buffer | undefined
    const files = createFilesService({
      db: app.db,
      events: app.events,
      audit: app.securityEvents,
      storage,
      signer: createLinkSigner(() => (key ??= deriveKey(masterSecret(app.config), 'file-download-link'))),
      limits: app.config.files,
      projects: app.projects,
      tasks: app.tasks,
      executions: app.executions,
      log: app.log.child({ module: 'files' }),
      cursors: listCursors(app.config)
    })
    app.decorate('files', files)
    // Background deletion runs on nodes that serve traffic; inject()-only apps (tests) call sweep themselves.
    let timer: NodeJS.Timeout | undefined
    app.addHook('onListen', async () => {
      timer = setInterval(() => { files.sweep().catch((err: unknown) => { app.log.warn({ err }, 'file sweep failed') }) }, SWEEP_INTERVAL_MS)
      timer.unref()
    })
    app.addHook('preClose', async () => { clearInterval(timer) })
    app.addHook('onClose', async () => { await storage.close() })
    await app.register(filesRoutes(files, app.securityEvents))
    await app.register(resumableRoutes(files))
    await app.register(uploadRoutes(files, { totalMs: app.config.files.uploadTimeoutMs, idleMs: app.config.files.uploadIdleTimeoutMs }))
  }, { name: 'files', dependencies: ['auth', 'rbac', 'events', 'security-events', 'projects', 'tasks', 'executions'] })
})
