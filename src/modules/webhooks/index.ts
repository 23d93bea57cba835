import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { createSecretBox } from '../../lib/secret-box.ts'
import { listCursors } from '../../platform/cursors.ts'
import { masterSecret } from '../../platform/master-secret.ts'
import { defineModule } from '../../platform/modules.ts'
import { createDispatcher, DELIVER_JOB, type DeliveryJob } from './dispatcher.ts'
import { createEndpointBreakers } from './endpoint-breakers.ts'
import { defineWebhookPermissions } from './permissions.ts'
import { webhooksRoutes } from './routes.ts'
import { createWebhooksService, type WebhooksService } from './service.ts'
import { systemResolver, type Resolver } from '../../lib/outbound-target.ts'

/** WebhooksPort is the webhooks service plus the resolver seam (tests simulate DNS; an operator may pin a resolver). */
export type WebhooksPort = WebhooksService & {
  /** setResolver replaces how host names are resolved at create, update and every connection; undefined restores the system resolver. */
  setResolver: (resolver: Resolver | undefined) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** webhooks manages project webhook endpoints and delivers published events to them. */
    webhooks: WebhooksPort
  }
}

/** webhooksModule sends a project's events to its HTTP endpoints: Standard Webhooks signatures, SSRF guards, retries, a delivery log. */
export default defineModule({
  name: 'webhooks',
  plugin: fp(async (app) => {
    defineWebhookPermissions(app.rbac)
    const config = app.config.webhooks
    // Derived on first use: the master secret may be read from (or written to) the data dir.
    let secret: string | undefined
    const box = createSecretBox(() => (secret ??= masterSecret(app.config)), 'webhook-secrets')
    let resolver: Resolver = systemResolver
    const policy = { httpsOnly: app.config.production, allowPrivate: config.allowPrivate }
    const outcomes = new Counter({
      name: 'webhook_attempts_total',
      help: 'Webhook delivery attempts and deferrals by outcome',
      labelNames: ['outcome'] as const,
      registers: [app.metrics]
    })
    // One breaker per endpoint, bounded in number; the metric counts them by state (an endpoint id
    // per label would be unbounded) and each transition is one log line naming the endpoint.
    const log = app.log.child({ module: 'webhooks' })
    const breakers = createEndpointBreakers({
      threshold: config.breakerThreshold,
      cooldownMs: config.breakerCooldownMs,
      maxTracked: 10_000,
      onTransition: (webhookId, state) => {
        if (state === 'open') log.warn({ webhookId, breaker: state }, 'webhook endpoint circuit breaker opened: its deliveries are deferred until a probe succeeds')
        else log.info({ webhookId, breaker: state }, `webhook endpoint circuit breaker is ${state}`)
      }
    })
    app.metrics.registerMetric(new Gauge({
      name: 'backplane_webhook_endpoint_breakers',
      help: 'Webhook endpoint circuit breakers this node tracks, by state (open: deliveries deferred)',
      labelNames: ['state'] as const,
      registers: [],
      collect () {
        const counts = breakers.counts()
        this.set({ state: 'closed' }, counts.closed)
        this.set({ state: 'open' }, counts.open)
        this.set({ state: 'half-open' }, counts.halfOpen)
      }
    }))
    const dispatcher = createDispatcher({
      db: app.db,
      queue: app.queue,
      box,
      log: app.log,
      policy,
      resolver: () => resolver,
      timeoutMs: config.timeoutMs,
      retryDelaysMs: config.retryDelaysMs,
      perEndpointConcurrency: config.perEndpointConcurrency,
      breakers,
      onOutcome: (outcome) => { outcomes.inc({ outcome }) }
    })
    const service = createWebhooksService({ db: app.db, audit: app.securityEvents, projects: app.projects, box, dispatcher, policy, resolver: () => resolver, maxPerProject: config.maxPerProject, cursors: listCursors(app.config) })
    app.decorate('webhooks', { ...service, setResolver: (next: Resolver | undefined) => { resolver = next ?? systemResolver } })
    // Delivery failures are outcomes recorded on the delivery, never job failures: the queue's own
    // retries cover only an attempt that could not be claimed or recorded (the database was away).
    app.queue.define<DeliveryJob>(DELIVER_JOB, async (job) => { await dispatcher.attempt(job.data.deliveryId) }, {
      concurrency: config.concurrency, retryLimit: 10, retryDelaySeconds: 5, retryBackoff: true
    })
    app.events.onPublish(dispatcher.onPublish)
    if (config.allowPrivate && app.config.production) app.log.warn('WEBHOOKS_ALLOW_PRIVATE is on: webhooks may reach loopback and private networks')
    await app.register(webhooksRoutes(service))
  }, { name: 'webhooks', dependencies: ['auth', 'rbac', 'security-events', 'projects', 'queue', 'events', 'metrics'] })
})
