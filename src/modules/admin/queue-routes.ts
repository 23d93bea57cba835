import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { DeadLetters } from './dead-letters.ts'
import { adminErrors } from './errors.ts'
import { DeadLetterListQuerySchema, DeadLetterListSchema, DeadLetterParams, QueueNameParams, QueueOverviewSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 503: ProblemSchema }
const tags = ['admin']

/** queueRoutes let admins watch the job queue and send dead letters back for another try. */
export function queueRoutes (deadLetters: DeadLetters): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params and query are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/admin/queue', {
      config: { access: 'queue:read' },
      schema: { tags, operationId: 'getQueueStats', summary: 'Job queue depths, failures and dead letters per job name', response: { 200: QueueOverviewSchema, ...problems } }
    }, async () => ({ adapter: app.queue.kind, queues: await app.queue.stats() }))

    app.get('/api/v1/admin/queue/:name/dead-letters', {
      config: { access: 'queue:read' },
      schema: {
        tags,
        operationId: 'listDeadLetters',
        summary: 'The oldest dead letters of a job name',
        description: 'Jobs that failed their last attempt, oldest first, up to `limit`; they stay until retried or expired.',
        params: QueueNameParams,
        querystring: DeadLetterListQuerySchema,
        response: { 200: DeadLetterListSchema, ...problems }
      }
    }, async (request) => {
      const { name } = request.params
      const items = await app.queue.deadLetters(name, request.query.limit)
      return { items, nextCursor: null }
    })

    app.post('/api/v1/admin/queue/:name/dead-letters/:id/retry', {
      config: { access: 'queue:manage' },
      schema: {
        tags,
        operationId: 'retryDeadLetter',
        summary: 'Send a dead letter back to its queue for another round of attempts',
        params: DeadLetterParams,
        response: { 204: { type: 'null' }, 404: ProblemSchema, ...problems }
      }
    }, async (request, reply) => {
      const { name, id } = request.params
      if (!(await deadLetters.retry(name, id, app.securityEvents.contextOf(request)))) throw adminErrors.DEAD_LETTER_NOT_FOUND()
      return reply.code(204).send(null)
    })
  }
}
