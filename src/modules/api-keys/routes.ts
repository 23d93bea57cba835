import { ADMIN_ROLE } from '../../platform/rbac.ts'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import type { ApiKeysService } from './service.ts'
import { ApiKeyIdParams, ApiKeyListQuerySchema, ApiKeyListSchema, ApiKeySchema, ApiKeyWithSecretSchema, CreateApiKeySchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['api-keys']

/** apiKeysRoutes let signed-in users manage their own API keys; an API key can never manage keys. */
export function apiKeysRoutes (keys: ApiKeysService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    // An admin's key can carry admin permissions: minting one needs a recent sign-in (step-up).
    const stepUpForAdmins = (request: FastifyRequest) => {
      if (actorOf(request).roles.includes(ADMIN_ROLE)) requireRecentAuth(request, app.config.auth.stepUpSeconds)
    }

    app.post('/api/v1/api-keys', {
      config: { access: 'user' },
      schema: { tags, operationId: 'createApiKey', summary: 'Create an API key (the key is shown once)', body: CreateApiKeySchema, response: { 201: ApiKeyWithSecretSchema, ...problems } }
    }, async (request, reply) => {
      stepUpForAdmins(request)
      return reply.code(201).send(await keys.create(actorOf(request).userId, request.body, app.securityEvents.contextOf(request)))
    })

    app.get('/api/v1/api-keys', {
      config: { access: 'user' },
      schema: { tags, operationId: 'listApiKeys', summary: 'Your API keys, newest first', querystring: ApiKeyListQuerySchema, response: { 200: ApiKeyListSchema, ...problems } }
    }, async (request) => keys.list(actorOf(request).userId, request.query))

    app.get('/api/v1/api-keys/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'getApiKey', summary: 'One of your API keys', params: ApiKeyIdParams, response: { 200: ApiKeySchema, ...problems } }
    }, async (request) => keys.get(actorOf(request).userId, request.params.id))

    app.delete('/api/v1/api-keys/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'revokeApiKey', summary: 'Revoke an API key (immediate on every node)', params: ApiKeyIdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await keys.revoke(actorOf(request).userId, request.params.id, app.securityEvents.contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/api-keys/:id/rotate', {
      config: { access: 'user' },
      schema: { tags, operationId: 'rotateApiKey', summary: 'Replace a key\'s secret; the old key stops working at once', params: ApiKeyIdParams, response: { 200: ApiKeyWithSecretSchema, ...problems } }
    }, async (request) => {
      stepUpForAdmins(request)
      return await keys.rotate(actorOf(request).userId, request.params.id, app.securityEvents.contextOf(request))
    })
  }
}
