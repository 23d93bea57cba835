import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { PushService } from './service.ts'
import { CreatePushSubscriptionSchema, IdParams, PushSubscriptionListSchema, PushSubscriptionSchema, VapidPublicKeySchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['push']

/** pushRoutes publish the VAPID public key and let a signed-in user manage their browsers' push subscriptions. */
export function pushRoutes (push: PushService): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/push/vapid-public-key', {
      config: { access: 'public' },
      schema: { tags, operationId: 'getVapidPublicKey', summary: 'The VAPID public key browsers pass to pushManager.subscribe as applicationServerKey', response: { 200: VapidPublicKeySchema } }
    }, async () => push.vapidPublicKey())

    app.post('/api/v1/push/subscriptions', {
      config: { access: 'user' },
      schema: { tags, operationId: 'createPushSubscription', summary: 'Register this browser\'s PushSubscription (201), or refresh it when its endpoint is already yours (200)', body: CreatePushSubscriptionSchema, response: { 200: PushSubscriptionSchema, 201: PushSubscriptionSchema, ...problems } }
    }, async (request, reply) => {
      const { subscription, created } = await push.subscribe(actorOf(request), request.body)
      return reply.code(created ? 201 : 200).send(subscription)
    })

    app.get('/api/v1/push/subscriptions', {
      config: { access: 'user' },
      schema: { tags, operationId: 'listPushSubscriptions', summary: 'Your push subscriptions (one per browser or device), newest first', response: { 200: PushSubscriptionListSchema, ...problems } }
    }, async (request) => push.list(actorOf(request)))

    app.delete('/api/v1/push/subscriptions/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'deletePushSubscription', summary: 'Stop push messages to one of your browsers (call it on sign-out too)', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await push.remove(actorOf(request), request.params.id)
      return reply.code(204).send(null)
    })
  }
}
