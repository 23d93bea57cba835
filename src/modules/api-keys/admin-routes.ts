import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { idSchema } from '../../lib/ids.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { UsersService } from '../users/index.ts'
import type { ApiKeysService } from './service.ts'
import { ApiKeyListQuerySchema, ApiKeyListSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const UserParams = Type.Object({ id: idSchema() }, { additionalProperties: false })

/** adminApiKeyRoutes let admins see a user's API keys (names, prefixes, scopes, use; never a secret or its hash). */
export function adminApiKeyRoutes (keys: ApiKeysService, users: UsersService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params and query are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/admin/users/:id/api-keys', {
      config: { access: 'user:read' },
      schema: { tags: ['admin'], operationId: 'listUserApiKeys', summary: 'A user\'s API keys, newest first (the key itself is never shown)', params: UserParams, querystring: ApiKeyListQuerySchema, response: { 200: ApiKeyListSchema, ...problems } }
    }, async (request) => {
      // An unknown or deleted user is a 404, not an empty list.
      await users.get(request.params.id)
      return keys.list(request.params.id, request.query)
    })
  }
}
