import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { TasksService } from './service.ts'
import { CreateTaskSchema, IdParams, TaskListQuerySchema, TaskListSchema, TaskSchema, UpdateTaskSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['tasks']

/** tasksRoutes let project members manage the project's tasks: viewers read, editors and owners write. */
export function tasksRoutes (tasks: TasksService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/projects/:id/tasks', {
      config: { access: 'task:read' },
      schema: { tags, operationId: 'listTasks', summary: 'A project\'s tasks, newest first', params: IdParams, querystring: TaskListQuerySchema, response: { 200: TaskListSchema, ...problems } }
    }, async (request) => tasks.list(actorOf(request), request.params.id, request.query))

    app.post('/api/v1/projects/:id/tasks', {
      config: { access: 'task:write' },
      schema: { tags, operationId: 'createTask', summary: 'Add a task to a project (editors)', params: IdParams, body: CreateTaskSchema, response: { 201: TaskSchema, ...problems } }
    }, async (request, reply) => reply.code(201).send(await tasks.create(actorOf(request), request.params.id, request.body)))

    app.get('/api/v1/tasks/:id', {
      config: { access: 'task:read' },
      schema: { tags, operationId: 'getTask', summary: 'One task, with its next five runs', params: IdParams, response: { 200: TaskSchema, ...problems } }
    }, async (request) => tasks.get(actorOf(request), request.params.id))

    app.patch('/api/v1/tasks/:id', {
      config: { access: 'task:write' },
      schema: { tags, operationId: 'updateTask', summary: 'Change some fields of a task (editors)', params: IdParams, body: UpdateTaskSchema, response: { 200: TaskSchema, ...problems } }
    }, async (request) => tasks.update(actorOf(request), request.params.id, request.body))

    app.delete('/api/v1/tasks/:id', {
      config: { access: 'task:write' },
      schema: { tags, operationId: 'deleteTask', summary: 'Delete a task; its executions are kept (editors)', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await tasks.remove(actorOf(request), request.params.id, app.securityEvents.contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/tasks/:id/pause', {
      config: { access: 'task:write' },
      schema: { tags, operationId: 'pauseTask', summary: 'Stop a task firing on its schedule (idempotent; editors)', params: IdParams, response: { 200: TaskSchema, ...problems } }
    }, async (request) => tasks.pause(actorOf(request), request.params.id))

    app.post('/api/v1/tasks/:id/resume', {
      config: { access: 'task:write' },
      schema: { tags, operationId: 'resumeTask', summary: 'Let a paused task fire again from its next slot (idempotent; editors)', params: IdParams, response: { 200: TaskSchema, ...problems } }
    }, async (request) => tasks.resume(actorOf(request), request.params.id))
  }
}
