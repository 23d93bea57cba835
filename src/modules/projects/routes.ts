import type { FastifyPluginAsync } from 'fastify'
import type { Static } from 'typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { ProjectsService } from './service.ts'
import { CreateProjectSchema, ProjectIdParams, ProjectListQuerySchema, ProjectListSchema, ProjectSchema, UpdateProjectSchema, type ProjectListQuery } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['projects']

/** projectsRoutes serve `/api/v1/projects`: each route checks its permission, the service the caller's membership. */
export function projectsRoutes (projects: ProjectsService): FastifyPluginAsync {
  return async (app) => {
    app.post('/api/v1/projects', {
      config: { access: 'project:create' },
      schema: { tags, operationId: 'createProject', summary: 'Create a project; you become its owner', body: CreateProjectSchema, response: { 201: ProjectSchema, ...problems } }
    }, async (request, reply) => {
      return reply.code(201).send(await projects.create(request.actor!, request.body as Static<typeof CreateProjectSchema>, app.securityEvents.contextOf(request)))
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
    }, async (request) => projects.list(request.actor!, request.query as ProjectListQuery))

    app.get('/api/v1/projects/:id', {
      config: { access: 'project:read' },
      schema: { tags, operationId: 'getProject', summary: 'One project (viewers and up)', params: ProjectIdParams, response: { 200: ProjectSchema, ...problems } }
    }, async (request) => projects.get(request.actor!, (request.params as { id: string }).id))

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
    }, async (request) => projects.update(request.actor!, (request.params as { id: string }).id, request.body as Static<typeof UpdateProjectSchema>))

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
      await projects.remove(request.actor!, (request.params as { id: string }).id, app.securityEvents.contextOf(request))
      return reply.code(204).send()
    })
  }
}
