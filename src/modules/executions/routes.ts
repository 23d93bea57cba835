import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { Type } from 'typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { ExecutionsService } from './service.ts'
import { AgentMetricsSchema, ExecutionIdParams, ExecutionListQuerySchema, ExecutionListSchema, ExecutionSchema } from './schemas.ts'
import { idSchema } from '../../lib/ids.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema }
const tags = ['executions']
const IdParams = Type.Object({ id: idSchema() }, { additionalProperties: false })

/** executionsRoutes let people follow, start and cancel runs. */
export function executionsRoutes (executions: ExecutionsService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/executions', {
      config: { access: 'execution:read' },
      schema: { tags, operationId: 'listExecutions', summary: 'Runs of your projects (an agent: its own), newest first', querystring: ExecutionListQuerySchema, response: { 200: ExecutionListSchema, ...problems } }
    }, async (request) => executions.list(actorOf(request), request.query))

    app.get('/api/v1/executions/:id', {
      config: { access: 'execution:read' },
      schema: { tags, operationId: 'getExecution', summary: 'One run, with its payload, result and logs', params: ExecutionIdParams, response: { 200: ExecutionSchema, ...problems } }
    }, async (request) => executions.get(actorOf(request), request.params.id))

    app.post('/api/v1/executions/:id/cancel', {
      config: { access: 'execution:cancel' },
      schema: { tags, operationId: 'cancelExecution', summary: 'Cancel a queued or running run (its agent is told on its next report)', params: ExecutionIdParams, response: { 200: ExecutionSchema, ...problems } }
    }, async (request) => executions.cancel(actorOf(request), request.params.id, app.securityEvents.contextOf(request)))

    app.post('/api/v1/tasks/:id/run', {
      config: { access: 'task:run' },
      schema: {
        tags: ['tasks'],
        operationId: 'runTask',
        summary: 'Run a task now; send an Idempotency-Key header to make retries safe',
        params: IdParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 200 })) }),
        response: { 202: ExecutionSchema, 200: ExecutionSchema, ...problems }
      }
    }, async (request, reply) => {
      const task = await app.tasks.requireTask(actorOf(request), request.params.id, 'editor')
      const key = request.headers['idempotency-key']
      const { execution, replayed } = await executions.runNow(task, actorOf(request).userId, typeof key === 'string' ? key : undefined)
      if (replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(replayed ? 200 : 202).send(execution)
    })

    app.get('/api/v1/agents/:id/metrics', {
      config: { access: 'agent:read' },
      schema: { tags: ['agents'], operationId: 'getAgentMetrics', summary: 'An agent\'s runs, success rate, p50/p95 duration and last sign of life', params: IdParams, response: { 200: AgentMetricsSchema, ...problems } }
    }, async (request) => executions.agentMetrics(actorOf(request), request.params.id))
  }
}
