import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Static } from 'typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import type { ApiKeysService } from './service.ts'
import type { ApiKey } from './view.ts'
import { ApiKeyIdParams, ApiKeyListQuerySchema, ApiKeyListSchema, ApiKeySchema, ApiKeyWithSecretSchema, CreateApiKeySchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['api-keys']

/** apiKeysRoutes let signed-in users manage their own API keys; an API key can never manage keys. */
export function apiKeysRoutes (keys: ApiKeysService): FastifyPluginAsync {
  return async (app) => {
    // Audit rows name the key and its scopes, never the key itself.
    const audit = (request: FastifyRequest, action: string, key: ApiKey) => {
      app.securityEvents.fromRequest(request, { action, outcome: 'success', targetType: 'api-key', targetId: key.id, details: { name: key.name, scopes: key.scopes } })
    }

    // An admin's key can carry admin permissions: minting one needs a recent sign-in (step-up).
    const stepUpForAdmins = (request: FastifyRequest) => {
      if (request.actor!.roles.includes('admin')) requireRecentAuth(request, app.config.auth.stepUpSeconds)
    }

    app.post('/api/v1/api-keys', {
      config: { access: 'user' },
      schema: { tags, operationId: 'createApiKey', summary: 'Create an API key (the key is shown once)', body: CreateApiKeySchema, response: { 201: ApiKeyWithSecretSchema, ...problems } }
    }, async (request, reply) => {
      stepUpForAdmins(request)
      const created = await keys.create(request.actor!.userId, request.body as Static<typeof CreateApiKeySchema>)
      audit(request, 'api_key.created', created)
      return reply.code(201).send(created)
    })

    app.get('/api/v1/api-keys', {
      config: { access: 'user' },
      schema: { tags, operationId: 'listApiKeys', summary: 'Your API keys, newest first', querystring: ApiKeyListQuerySchema, response: { 200: ApiKeyListSchema, ...problems } }
    }, async (request) => keys.list(request.actor!.userId, request.query as Static<typeof ApiKeyListQuerySchema>))

    app.get('/api/v1/api-keys/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'getApiKey', summary: 'One of your API keys', params: ApiKeyIdParams, response: { 200: ApiKeySchema, ...problems } }
    }, async (request) => keys.get(request.actor!.userId, (request.params as { id: string }).id))

    app.delete('/api/v1/api-keys/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'revokeApiKey', summary: 'Revoke an API key (immediate on every node)', params: ApiKeyIdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const { key, changed } = await keys.revoke(request.actor!.userId, (request.params as { id: string }).id)
      if (changed) audit(request, 'api_key.revoked', key)
      return reply.code(204).send()
    })

    app.post('/api/v1/api-keys/:id/rotate', {
      config: { access: 'user' },
      schema: { tags, operationId: 'rotateApiKey', summary: 'Replace a key\'s secret; the old key stops working at once', params: ApiKeyIdParams, response: { 200: ApiKeyWithSecretSchema, ...problems } }
    }, async (request) => {
      stepUpForAdmins(request)
      const rotated = await keys.rotate(request.actor!.userId, (request.params as { id: string }).id)
      audit(request, 'api_key.rotated', rotated)
      return rotated
    })
  }
}
