import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Static } from 'typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { FrontendsService } from './service.ts'
import type { Frontend } from './view.ts'
import {
  CreateFrontendSchema, FrontendIdParams, FrontendListQuerySchema, FrontendListSchema, FrontendSchema, FrontendWithKeySchema, UpdateFrontendSchema
} from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['admin']
const access = 'frontend:manage' as const
type Params = { id: string }

/** frontendsRoutes are the admin API of the registry: frontends added by hand (production origins, mobile apps) and the detected ones. */
export function frontendsRoutes (frontends: FrontendsService): FastifyPluginAsync {
  return async (app) => {
    // Audit rows name the frontend and what changed, never its key.
    const audit = (request: FastifyRequest, action: string, frontend: Frontend, details: Record<string, unknown> = {}) => {
      app.securityEvents.fromRequest(request, { action, outcome: 'success', targetType: 'frontend', targetId: frontend.id, details: { name: frontend.name, ...details } })
    }

    app.get('/api/v1/admin/frontends', {
      config: { access },
      schema: { tags, operationId: 'listFrontends', summary: 'Registered frontends, newest first', querystring: FrontendListQuerySchema, response: { 200: FrontendListSchema, ...problems } }
    }, async (request) => frontends.list(request.query as Static<typeof FrontendListQuerySchema>))

    app.post('/api/v1/admin/frontends', {
      config: { access },
      schema: { tags, operationId: 'createFrontend', summary: 'Register a frontend; its origins are allowed on every node at once and its key is shown once', body: CreateFrontendSchema, response: { 201: FrontendWithKeySchema, ...problems } }
    }, async (request, reply) => {
      const created = await frontends.create(request.body as Static<typeof CreateFrontendSchema>)
      audit(request, 'frontend.created', created.frontend, { origins: created.frontend.origins, enabled: created.frontend.enabled })
      return reply.code(201).send(created)
    })

    app.get('/api/v1/admin/frontends/:id', {
      config: { access },
      schema: { tags, operationId: 'getFrontend', summary: 'One registered frontend', params: FrontendIdParams, response: { 200: FrontendSchema, ...problems } }
    }, async (request) => frontends.get((request.params as Params).id))

    app.patch('/api/v1/admin/frontends/:id', {
      config: { access },
      schema: { tags, operationId: 'updateFrontend', summary: 'Change a frontend\'s origins, tier, prefix or namespace, or enable/disable it (every node at once)', params: FrontendIdParams, body: UpdateFrontendSchema, response: { 200: FrontendSchema, ...problems } }
    }, async (request) => {
      const body = request.body as Static<typeof UpdateFrontendSchema>
      const { frontend, before } = await frontends.update((request.params as Params).id, body)
      const action = before.enabled === frontend.enabled ? 'frontend.updated' : frontend.enabled ? 'frontend.enabled' : 'frontend.disabled'
      audit(request, action, frontend, { fields: Object.keys(body), ...(body.origins ? { origins: frontend.origins } : {}) })
      return frontend
    })

    app.delete('/api/v1/admin/frontends/:id', {
      config: { access },
      schema: { tags, operationId: 'deleteFrontend', summary: 'Delete a frontend and its key; its origins leave the CORS allow-list', params: FrontendIdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const frontend = await frontends.remove((request.params as Params).id)
      audit(request, 'frontend.deleted', frontend)
      return reply.code(204).send()
    })

    app.post('/api/v1/admin/frontends/:id/rotate-key', {
      config: { access },
      schema: { tags, operationId: 'rotateFrontendKey', summary: 'Give a frontend a new key (shown once); the old one is refused at once on every node', params: FrontendIdParams, response: { 200: FrontendWithKeySchema, ...problems } }
    }, async (request) => {
      const rotated = await frontends.rotateKey((request.params as Params).id)
      audit(request, 'frontend.key_rotated', rotated.frontend)
      return rotated
    })
  }
}
