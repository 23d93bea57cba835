import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { runTraceparent } from './trace.ts'
import type { ExecutionsService } from './service.ts'
import { ClaimQuerySchema, CompleteSchema, ExecutionIdParams, ExecutionSchema, FailSchema, ProgressSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['agents']

/** agentWorkRoutes are what an agent calls with its own credential: claim work, report on it, end it. */
export function agentWorkRoutes (executions: ExecutionsService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/api/v1/agents/me/claim', {
      config: { access: 'agent:work' },
      schema: { tags, operationId: 'claimExecution', summary: 'Take the next run for this agent, waiting up to `wait` seconds (204 when there is none)', querystring: ClaimQuerySchema, response: { 200: ExecutionSchema, 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const agent = await app.agents.self(actorOf(request))
      // A client that hangs up stops the wait, so no run is claimed for an agent that is gone.
      const gone = new AbortController()
      reply.raw.once('close', () => { gone.abort() })
      const execution = await executions.claim(agent, request.query.wait, gone.signal)
      if (!execution) return reply.code(204).send(null)
      const traceparent = await runTraceparent(app.db, execution.id)
      if (traceparent) reply.header('traceparent', traceparent)
      return execution
    })

    app.post('/api/v1/executions/:id/progress', {
      config: { access: 'agent:work' },
      schema: { tags, operationId: 'reportExecutionProgress', summary: 'Report progress and append logs (extends the lease)', params: ExecutionIdParams, body: ProgressSchema, response: { 200: ExecutionSchema, ...problems } }
    }, async (request) => executions.progress(await app.agents.self(actorOf(request)), request.params.id, request.body))

    app.post('/api/v1/executions/:id/complete', {
      config: { access: 'agent:work' },
      // A bare `POST` (no body) completes the run with no result and no log.
      preValidation: (request, _reply, done) => { request.body ??= {}; done() },
      schema: { tags, operationId: 'completeExecution', summary: 'End a run successfully with its result', params: ExecutionIdParams, body: CompleteSchema, response: { 200: ExecutionSchema, ...problems } }
    }, async (request) => executions.complete(await app.agents.self(actorOf(request)), request.params.id, request.body))

    app.post('/api/v1/executions/:id/fail', {
      config: { access: 'agent:work' },
      schema: { tags, operationId: 'failExecution', summary: 'End a run as failed; it is retried by its task\'s policy', params: ExecutionIdParams, body: FailSchema, response: { 200: ExecutionSchema, ...problems } }
    }, async (request) => executions.fail(await app.agents.self(actorOf(request)), request.params.id, request.body))
  }
}
