import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { listCursors } from '../../platform/cursors.ts'
import { defineModule } from '../../platform/modules.ts'
import { installAppendOnlyGuard } from './append-only.ts'
import { auditPermissions } from './permissions.ts'
import { createAuditRepository } from './repository.ts'
import { auditRoutes } from './routes.ts'
import { createAuditService, toAuditRow } from './service.ts'
import { createAuditWriter, describeError, type DropReason } from './writer.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** audit gives access to the audit writer: `flush` writes every queued event now. */
    audit: { flush: () => Promise<void> }
  }
}

const REASONS: DropReason[] = ['queue_full', 'write_failed', 'shutdown']

/**
 * auditModule records every security event in the append-only `audit_events` table and serves the
 * admin query over it: a change's event in the change's transaction, events without a change (refusals,
 * failed attempts) through the batching writer.
 */
export default defineModule({
  name: 'audit',
  plugin: fp(async (app) => {
    app.rbac.define(auditPermissions)
    const registers = [app.metrics]
    const written = new Counter({ name: 'audit_events_written_total', help: 'Audit events stored', registers })
    const dropped = new Counter({ name: 'audit_events_dropped_total', help: 'Audit events lost, by reason', labelNames: ['reason'] as const, registers })
    const failures = new Counter({ name: 'audit_write_failures_total', help: 'Failed audit inserts (batches or single rows)', registers })
    for (const reason of REASONS) dropped.inc({ reason }, 0)
    const log = app.log.child({ module: 'audit' })
    const repo = createAuditRepository(app.db)
    const writer = createAuditWriter({
      insert: repo.insertMany,
      log,
      onWritten: (n) => { written.inc(n) },
      onDropped: (n, reason) => { dropped.inc({ reason }, n) },
      onFailed: () => { failures.inc() }
    })
    const audit = createAuditService({ repo, writer, cursors: listCursors(app.config) })
    app.securityEvents.useStore({
      // A change's event is written in the change's transaction: stored exactly when it commits.
      write: async (event, tx) => {
        await repo.insertMany([toAuditRow(event)], tx)
        written.inc()
      },
      // Events that go with no change run inside the reporting request: whatever happens here must not reach it.
      enqueue: (event) => {
        try {
          audit.record(event)
        } catch (err) {
          log.error({ err: describeError(err), action: String(event.action).slice(0, 100) }, 'audit event not recorded')
        }
      }
    })
    // Registered after the database plugin, so this runs before the pool closes (onClose is last-in, first-out).
    app.addHook('onClose', async () => { await writer.close() })
    app.decorate('audit', { flush: writer.flush })
    await app.register(auditRoutes(audit))
  }, { name: 'audit', dependencies: ['db', 'metrics', 'rbac', 'auth', 'security-events'] }),
  seed: async ({ db }) => { await installAppendOnlyGuard(db) }
})
