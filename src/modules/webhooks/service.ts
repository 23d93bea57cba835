import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import { AppError } from '../../platform/errors.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import { newId } from '../../lib/ids.ts'
import { isForeignKeyViolation } from '../../lib/sql-state.ts'
import type { SecretBox } from '../../lib/secret-box.ts'
import type { ProjectAccess } from '../projects/index.ts'
import { createDeliveriesRepository } from './deliveries-repository.ts'
import type { Dispatcher } from './dispatcher.ts'
import { invalidUrl, webhookErrors } from './errors.ts'
import { createWebhooksRepository } from './repository.ts'
import type { CreateWebhookInput, Delivery, DeliveryListQuery, UpdateWebhookInput, Webhook } from './schemas.ts'
import { newWebhookSecret } from './signature.ts'
import { checkTarget, TargetRefusal, type Resolver, type TargetPolicy } from '../../lib/outbound-target.ts'
import type { WebhookRow } from './table.ts'
import { toDelivery, toWebhook } from './view.ts'

/** ROTATION_OVERLAP_MS is how long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000

/** WebhooksDeps is what the webhooks service is built from. */
export interface WebhooksDeps {
  db: Database
  audit: SecurityEvents
  projects: ProjectAccess
  box: SecretBox
  dispatcher: Dispatcher
  policy: TargetPolicy
  resolver: () => Resolver
  maxPerProject: number
  cursors: CursorCodec
}

/**
 * createWebhooksService holds the endpoint rules: editors read endpoints and deliveries, owners
 * change them (an endpoint carries a secret and sends project data out), URLs pass the target
 * policy, secrets are sealed at rest and shown once.
 */
export function createWebhooksService (deps: WebhooksDeps) {
  const { db, projects, box, dispatcher, cursors } = deps
  const repo = createWebhooksRepository(db)
  const deliveries = createDeliveriesRepository(db)
  // Audit rows name the endpoint's host, never its full URL (a query string may carry a token) or its secret.
  const audited = (context: AuditContext, action: string, hook: Pick<WebhookRow, 'id' | 'projectId' | 'url'>, tx: Database) => {
    let host = ''
    try { host = new URL(hook.url).host } catch { /* stored URLs always parse */ }
    return deps.audit.record(context, { action, outcome: 'success', targetType: 'webhook', targetId: hook.id, details: { projectId: hook.projectId, host } }, tx)
  }

  /** requireWebhook returns the endpoint when the actor has at least `need` on its project; WEBHOOK_NOT_FOUND otherwise. */
  async function requireWebhook (actor: Actor, id: string, need: 'editor' | 'owner'): Promise<WebhookRow> {
    const row = await repo.find(id)
    if (!row) throw webhookErrors.WEBHOOK_NOT_FOUND()
    try {
      await projects.requireAccess(actor, row.projectId, need)
    } catch (err) {
      // A project the actor cannot see must not be told apart from a missing endpoint.
      if (err instanceof AppError && err.status === 404) throw webhookErrors.WEBHOOK_NOT_FOUND()
      throw err
    }
    return row
  }

  async function checkUrl (url: string): Promise<void> {
    try {
      await checkTarget(url, deps.policy, deps.resolver())
    } catch (err) {
      if (err instanceof TargetRefusal) throw invalidUrl(err.message)
      throw err
    }
  }

  return {
    requireWebhook,

    /** create adds an endpoint to a project the actor owns and returns it with its secret, the only time the secret is shown. */
    async create (actor: Actor, projectId: string, input: CreateWebhookInput, context: AuditContext): Promise<Webhook & { secret: string }> {
      await projects.requireAccess(actor, projectId, 'owner')
      await checkUrl(input.url)
      const secret = newWebhookSecret()
      const enabled = input.enabled ?? true
      const row = await db.transaction(async (tx) => {
        await repo.lockProject(projectId, tx)
        if ((await repo.countInProject(projectId, tx)) >= deps.maxPerProject) {
          throw webhookErrors.WEBHOOK_LIMIT(`This project holds the maximum of ${deps.maxPerProject} webhooks; delete one first`)
        }
        const row = await repo.insert({
          projectId,
          url: input.url,
          eventTypes: input.eventTypes,
          description: input.description ?? '',
          secretSealed: box.seal(secret),
          enabled,
          disabledReason: enabled ? null : 'Disabled when created',
          disabledAt: enabled ? null : new Date()
        }, tx)
        await audited(context, 'webhook.created', row, tx)
        return row
      }).catch((err: unknown) => {
        // The project was deleted between the access check and the insert.
        if (isForeignKeyViolation(err)) throw webhookErrors.WEBHOOK_PROJECT_GONE()
        throw err
      })
      return { ...toWebhook(row), secret }
    },

    async list (actor: Actor, projectId: string, query: { limit: number, cursor?: string }): Promise<{ items: Webhook[], nextCursor: string | null }> {
      await projects.requireAccess(actor, projectId, 'editor')
      const list = `webhooks:${projectId}`
      const rows = await repo.list(projectId, query.limit, cursors.after(list, query.cursor))
      return cursors.pageOf(list, rows, query.limit, (r) => toWebhook(r))
    },

    get: async (actor: Actor, id: string): Promise<Webhook> => toWebhook(await requireWebhook(actor, id, 'editor')),

    /** update changes some fields; a new URL passes the target policy; enabling clears the reason and the failure streak. */
    async update (actor: Actor, id: string, input: UpdateWebhookInput, context: AuditContext): Promise<Webhook> {
      const before = await requireWebhook(actor, id, 'owner')
      if (input.url !== undefined && input.url !== before.url) await checkUrl(input.url)
      const values: Partial<WebhookRow> = {}
      if (input.url !== undefined) values.url = input.url
      if (input.eventTypes !== undefined) values.eventTypes = input.eventTypes
      if (input.description !== undefined) values.description = input.description
      if (input.enabled === true && !before.enabled) Object.assign(values, { enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0 })
      if (input.enabled === false && before.enabled) Object.assign(values, { enabled: false, disabledReason: 'Disabled by a project owner', disabledAt: new Date() })
      // A request that changes nothing is still audited, as it always was.
      const row = await db.transaction(async (tx) => {
        const row = Object.keys(values).length === 0 ? before : await repo.update(id, values, tx)
        if (!row) throw webhookErrors.WEBHOOK_NOT_FOUND()
        await audited(context, 'webhook.updated', row, tx)
        return row
      })
      return toWebhook(row)
    },

    /** remove deletes an endpoint and its delivery log; jobs still queued for it find nothing and end. */
    async remove (actor: Actor, id: string, context: AuditContext): Promise<WebhookRow> {
      const row = await requireWebhook(actor, id, 'owner')
      await db.transaction(async (tx) => {
        await repo.delete(id, tx)
        await audited(context, 'webhook.deleted', row, tx)
      })
      return row
    },

    /** rotateSecret gives the endpoint a new secret (shown once); the previous one keeps signing beside it for 24 hours. */
    async rotateSecret (actor: Actor, id: string, context: AuditContext): Promise<Webhook & { secret: string }> {
      await requireWebhook(actor, id, 'owner')
      const secret = newWebhookSecret()
      const row = await db.transaction(async (tx) => {
        const current = await repo.findForUpdate(id, tx)
        if (!current) throw webhookErrors.WEBHOOK_NOT_FOUND()
        const row = await repo.update(id, {
          secretSealed: box.seal(secret),
          previousSecretSealed: current.secretSealed,
          previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS)
        }, tx)
        if (row) await audited(context, 'webhook.secret_rotated', row, tx)
        return row
      })
      if (!row) throw webhookErrors.WEBHOOK_NOT_FOUND()
      return { ...toWebhook(row), secret }
    },

    async deliveries (actor: Actor, id: string, query: DeliveryListQuery): Promise<{ items: Delivery[], nextCursor: string | null }> {
      await requireWebhook(actor, id, 'editor')
      const list = `webhook-deliveries:${id}`
      const rows = await deliveries.list(id, query.limit, { cursor: cursors.after(list, query.cursor), status: query.status })
      return cursors.pageOf(list, rows, query.limit, (r) => toDelivery(r, dispatcher.maxAttempts))
    },

    /** redeliver sends a delivery again now, with fresh attempts and the same `webhook-id` (receivers deduplicate on it). */
    async redeliver (actor: Actor, id: string, deliveryId: string): Promise<Delivery> {
      const hook = await requireWebhook(actor, id, 'owner')
      if (!(await deliveries.find(id, deliveryId))) throw webhookErrors.WEBHOOK_DELIVERY_NOT_FOUND()
      if (!hook.enabled) throw webhookErrors.WEBHOOK_DISABLED()
      const row = await dispatcher.restart(id, deliveryId)
      if (!row) throw webhookErrors.WEBHOOK_DELIVERY_IN_FLIGHT()
      return toDelivery(row, dispatcher.maxAttempts)
    },

    /** sendTest queues a `webhook.test` event to this endpoint only, whatever its event types. */
    async sendTest (actor: Actor, id: string): Promise<Delivery> {
      const hook = await requireWebhook(actor, id, 'owner')
      if (!hook.enabled) throw webhookErrors.WEBHOOK_DISABLED()
      const event = { id: newId(), type: 'webhook.test', at: new Date().toISOString(), data: { webhookId: hook.id, projectId: hook.projectId } }
      const [deliveryId] = await db.transaction((tx) => dispatcher.enqueue(event, [hook.id], tx))
      const row = deliveryId === undefined ? undefined : await deliveries.find(id, deliveryId)
      if (!row) throw webhookErrors.WEBHOOK_NOT_FOUND()
      return toDelivery(row, dispatcher.maxAttempts)
    }
  }
}

/** WebhooksService is the webhooks module's service. */
export type WebhooksService = ReturnType<typeof createWebhooksService>
