import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createSecretBox } from '../../lib/secret-box.ts'
import { systemResolver, type Resolver } from '../../lib/outbound-target.ts'
import { masterSecret } from '../../platform/master-secret.ts'
import { defineModule } from '../../platform/modules.ts'
import { createPushDelivery, SEND_JOB, type SendJob } from './delivery.ts'
import { createPushRepository } from './repository.ts'
import { pushChannel } from './channel.ts'
import { pushRoutes } from './routes.ts'
import { createPushService, type PushService } from './service.ts'
import { createVapidKeyStore } from './vapid-keys.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { type PushService } from './service.ts'
export { type PushPayload } from './payload.ts'
export { pushChannel } from './channel.ts'

/** PushPort is the push service plus the resolver seam (tests simulate DNS, as for webhooks). */
export type PushPort = PushService & {
  /** setResolver replaces how endpoint host names are resolved at subscribe and at every send; undefined restores the system resolver. */
  setResolver: (resolver: Resolver | undefined) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** push keeps users' Web Push subscriptions and sends them messages (`sendToUser`). */
    push: PushPort
  }
}

/** pushModule delivers notifications to browsers by Web Push: a sealed VAPID key pair, subscriptions per device, RFC 8291 encrypted messages sent as queue jobs. */
export default defineModule({
  name: 'push',
  plugin: fp(async (app) => {
    const config = app.config.push
    // Derived on first use: the master secret may be read from (or written to) the data dir.
    let secret: string | undefined
    const box = createSecretBox(() => (secret ??= masterSecret(app.config)), 'push-vapid')
    const vapid = createVapidKeyStore({ db: app.db, box })
    const repo = createPushRepository(app.db)
    let resolver: Resolver = systemResolver
    const policy = { allowInsecure: config.allowInsecure }
    const service = createPushService({ db: app.db, repo, queue: app.queue, vapid, policy, resolve: () => resolver, maxPerUser: config.maxPerUser })
    const outcomes = new Counter({
      name: 'push_messages_total',
      help: 'Web Push sends by outcome: sent, gone (subscription deleted), retry, refused (dropped)',
      labelNames: ['outcome'] as const,
      registers: [app.metrics]
    })
    const delivery = createPushDelivery({
      repo,
      vapid,
      subject: config.subject,
      policy,
      resolve: () => resolver,
      timeoutMs: config.timeoutMs,
      ttlSeconds: config.ttlSeconds,
      log: app.log.child({ module: 'push' }),
      onOutcome: (outcome) => { outcomes.inc({ outcome }) }
    })
    app.decorate('push', { ...service, setResolver: (next: Resolver | undefined) => { resolver = next ?? systemResolver } })
    // 404/410 and other final answers end the job; no answer, 429 and 5xx throw and are retried with back-off.
    app.queue.define<SendJob>(SEND_JOB, async (job) => { await delivery.send(job.data) }, {
      concurrency: 8, retryLimit: 6, retryDelaySeconds: 10, retryBackoff: true
    })
    if (config.allowInsecure) app.log.warn('PUSH_ALLOW_INSECURE_ENDPOINTS is on: push endpoints may be http on loopback and reach private networks')
    // The notifications module (lower) owns the channel port; push plugs its channel in.
    app.notifications.addChannel(pushChannel(service))
    await app.register(pushRoutes(service))
  }, { name: 'push', dependencies: ['auth', 'queue', 'metrics', 'notifications'] })
})
