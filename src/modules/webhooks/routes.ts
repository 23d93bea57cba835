import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { WebhooksService } from './service.ts'
import { CreateWebhookSchema, DeliveryListQuerySchema, DeliveryListSchema, DeliveryParams, DeliverySchema, IdParams, UpdateWebhookSchema, WebhookListQuerySchema, WebhookListSchema, WebhookSchema, WebhookWithSecretSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['webhooks']

/** webhooksRoutes let project owners manage webhook endpoints and editors watch them and their deliveries. */
export function webhooksRoutes (webhooks: WebhooksService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/projects/:id/webhooks', {
      config: { access: 'webhook:read' },
      schema: { tags, operationId: 'listWebhooks', summary: 'A project\'s webhook endpoints, newest first (editors)', params: IdParams, querystring: WebhookListQuerySchema, response: { 200: WebhookListSchema, ...problems } }
    }, async (request) => webhooks.list(actorOf(request), request.params.id, request.query))

    app.post('/api/v1/projects/:id/webhooks', {
      config: { access: 'webhook:write' },
      schema: { tags, operationId: 'createWebhook', summary: 'Add a webhook endpoint; its signing secret is shown once (owners)', params: IdParams, body: CreateWebhookSchema, response: { 201: WebhookWithSecretSchema, ...problems } }
    }, async (request, reply) => {
      return reply.code(201).send(await webhooks.create(actorOf(request), request.params.id, request.body, app.securityEvents.contextOf(request)))
    })

    app.get('/api/v1/webhooks/:id', {
      config: { access: 'webhook:read' },
      schema: { tags, operationId: 'getWebhook', summary: 'One webhook endpoint, without its secret (editors)', params: IdParams, response: { 200: WebhookSchema, ...problems } }
    }, async (request) => webhooks.get(actorOf(request), request.params.id))

    app.patch('/api/v1/webhooks/:id', {
      config: { access: 'webhook:write' },
      schema: { tags, operationId: 'updateWebhook', summary: 'Change the URL, event types, description or enabled flag (owners)', params: IdParams, body: UpdateWebhookSchema, response: { 200: WebhookSchema, ...problems } }
    }, async (request) => webhooks.update(actorOf(request), request.params.id, request.body, app.securityEvents.contextOf(request)))

    app.delete('/api/v1/webhooks/:id', {
      config: { access: 'webhook:write' },
      schema: { tags, operationId: 'deleteWebhook', summary: 'Delete a webhook endpoint and its delivery log (owners)', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await webhooks.remove(actorOf(request), request.params.id, app.securityEvents.contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/webhooks/:id/rotate-secret', {
      config: { access: 'webhook:write' },
      schema: { tags, operationId: 'rotateWebhookSecret', summary: 'Replace the signing secret (shown once); the previous one keeps signing beside it for 24 h (owners)', params: IdParams, response: { 200: WebhookWithSecretSchema, ...problems } }
    }, async (request) => webhooks.rotateSecret(actorOf(request), request.params.id, app.securityEvents.contextOf(request)))

    app.get('/api/v1/webhooks/:id/deliveries', {
      config: { access: 'webhook:read' },
      schema: { tags, operationId: 'listWebhookDeliveries', summary: 'An endpoint\'s delivery log, newest first (editors)', params: IdParams, querystring: DeliveryListQuerySchema, response: { 200: DeliveryListSchema, ...problems } }
    }, async (request) => webhooks.deliveries(actorOf(request), request.params.id, request.query))

    app.post('/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver', {
      config: { access: 'webhook:write' },
      schema: { tags, operationId: 'redeliverWebhookDelivery', summary: 'Send a delivery again now with fresh attempts and the same webhook-id (owners)', params: DeliveryParams, response: { 202: DeliverySchema, ...problems } }
    }, async (request, reply) => {
      const { id, deliveryId } = request.params
      return reply.code(202).send(await webhooks.redeliver(actorOf(request), id, deliveryId))
    })

    app.post('/api/v1/webhooks/:id/test', {
      config: { access: 'webhook:write' },
      schema: { tags, operationId: 'testWebhook', summary: 'Queue a webhook.test event to this endpoint (owners)', params: IdParams, response: { 202: DeliverySchema, ...problems } }
    }, async (request, reply) => reply.code(202).send(await webhooks.sendTest(actorOf(request), request.params.id)))
  }
}
