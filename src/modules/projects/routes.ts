import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { ProjectsService } from './service.ts'
import { CreateProjectSchema, ProjectIdParams, ProjectListQuerySchema, ProjectListSchema, ProjectSchema, UpdateProjectSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['projects']

/** projectsRoutes serve `/api/v1/projects`: each route checks its permission, the service the caller's membership. */
export function projectsRoutes (projects: ProjectsService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/api/v1/projects', {
      config: { access: 'project:create' },
      schema: { tags, operationId: 'createProject', summary: 'Create a project; you become its owner', body: CreateProjectSchema, response: { 201: ProjectSchema, ...problems } }
    }, async (request, reply) => {
      return reply.code(201).send(await projects.create(actorOf(request), request.body, app.securityEvents.contextOf(request)))
    })

    app.get('/api/v1/projects', {
      config: { access: 'project:read' },
      schema: {
        tags,
        operationId: 'listProjects',
        summary: 'The projects you are a member of (every project for project:admin), filtered, searched and sorted',
        querystring: ProjectListQuerySchema,
        response: { 200: ProjectListSchema, ...problems }
      }
    }, async (request) => projects.list(actorOf(request), request.query))

    app.get('/api/v1/projects/:id', {
      config: { access: 'project:read' },
      schema: { tags, operationId: 'getProject', summary: 'One project (viewers and up)', params: ProjectIdParams, response: { 200: ProjectSchema, ...problems } }
    }, async (request) => projects.get(actorOf(request), request.params.id))

    app.patch('/api/v1/projects/:id', {
      config: { access: 'project:update' },
      schema: {
        tags,
        operationId: 'updateProject',
        summary: 'Rename or describe a project (editors and owners)',
        params: ProjectIdParams,
        body: UpdateProjectSchema,
        response: { 200: ProjectSchema, ...problems }
      }
    }, async (request) => projects.update(actorOf(request), request.params.id, request.body))

    app.delete('/api/v1/projects/:id', {
      config: { access: 'project:delete' },
      schema: {
        tags,
        operationId: 'deleteProject',
        summary: 'Delete a project and its tasks (owners); executions are kept',
        params: ProjectIdParams,
        response: { 204: { type: 'null' }, ...problems }
      }
    }, async (request, reply) => {
      await projects.remove(actorOf(request), request.params.id, app.securityEvents.contextOf(request))
      return reply.code(204).send(null)
    })
  }
}
