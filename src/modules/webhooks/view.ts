import type { Delivery, Webhook } from './schemas.ts'
import type { DeliveryRow, WebhookRow } from './table.ts'

const iso = (d: Date | null) => d?.toISOString() ?? null

/** toWebhook is the only way a stored endpoint leaves the module: never a secret, sealed or not. */
export function toWebhook (row: WebhookRow, now = new Date()): Webhook {
  const overlap = row.previousSecretExpiresAt && row.previousSecretExpiresAt > now ? row.previousSecretExpiresAt : null
  return {
    id: row.id,
    projectId: row.projectId,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    disabledAt: iso(row.disabledAt),
    previousSecretExpiresAt: iso(overlap),
    consecutiveFailures: row.consecutiveFailures,
    lastSuccessAt: iso(row.lastSuccessAt),
    lastFailureAt: iso(row.lastFailureAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}

/** toDelivery is the public view of a delivery; the body it carries is the project's own event and stays out of the list. */
export function toDelivery (row: DeliveryRow, maxAttempts: number): Delivery {
  return {
    id: row.id,
    webhookId: row.webhookId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    maxAttempts,
    nextAttemptAt: row.status === 'pending' ? iso(row.nextAttemptAt) : null,
    lastAttemptAt: iso(row.lastAttemptAt),
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    responseExcerpt: row.responseExcerpt,
    durationMs: row.durationMs,
    createdAt: row.createdAt.toISOString(),
    completedAt: iso(row.completedAt),
    redeliveredAt: iso(row.redeliveredAt)
  }
}
