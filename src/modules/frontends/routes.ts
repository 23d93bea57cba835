import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { FrontendsService } from './service.ts'
import { CreateFrontendSchema, FrontendIdParams, FrontendListQuerySchema, FrontendListSchema, FrontendSchema, FrontendWithKeySchema, UpdateFrontendSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['admin']
const access = 'frontend:manage' as const

/** frontendsRoutes are the admin API of the registry: frontends added by hand (production origins, mobile apps) and the detected ones. */
export function frontendsRoutes (frontends: FrontendsService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/admin/frontends', {
      config: { access },
      schema: { tags, operationId: 'listFrontends', summary: 'Registered frontends, newest first', querystring: FrontendListQuerySchema, response: { 200: FrontendListSchema, ...problems } }
    }, async (request) => frontends.list(request.query))

    app.post('/api/v1/admin/frontends', {
      config: { access },
      schema: { tags, operationId: 'createFrontend', summary: 'Register a frontend; its origins are allowed on every node at once and its key is shown once', body: CreateFrontendSchema, response: { 201: FrontendWithKeySchema, ...problems } }
    }, async (request, reply) => {
      return reply.code(201).send(await frontends.create(request.body, app.securityEvents.contextOf(request)))
    })

    app.get('/api/v1/admin/frontends/:id', {
      config: { access },
      schema: { tags, operationId: 'getFrontend', summary: 'One registered frontend', params: FrontendIdParams, response: { 200: FrontendSchema, ...problems } }
    }, async (request) => frontends.get(request.params.id))

    app.patch('/api/v1/admin/frontends/:id', {
      config: { access },
      schema: { tags, operationId: 'updateFrontend', summary: 'Change a frontend\'s origins, tier, prefix or namespace, or enable/disable it (every node at once)', params: FrontendIdParams, body: UpdateFrontendSchema, response: { 200: FrontendSchema, ...problems } }
    }, async (request) => (await frontends.update(request.params.id, request.body, app.securityEvents.contextOf(request))).frontend)

    app.delete('/api/v1/admin/frontends/:id', {
      config: { access },
      schema: { tags, operationId: 'deleteFrontend', summary: 'Delete a frontend and its key; its origins leave the CORS allow-list', params: FrontendIdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await frontends.remove(request.params.id, app.securityEvents.contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/admin/frontends/:id/rotate-key', {
      config: { access },
      schema: { tags, operationId: 'rotateFrontendKey', summary: 'Give a frontend a new key (shown once); the old one is refused at once on every node', params: FrontendIdParams, response: { 200: FrontendWithKeySchema, ...problems } }
    }, async (request) => frontends.rotateKey(request.params.id, app.securityEvents.contextOf(request)))
  }
}
