import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { AnalyticsService } from './service.ts'
import { DaysQuerySchema, ExecutionSeriesSchema, OverviewSchema, UserSeriesSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema }
const tags = ['admin', 'analytics']
const cachedNote = 'Computed in SQL over a bounded range and reused for 10 s.'

/** analyticsRoutes serve the console's figures to admins. */
export function analyticsRoutes (analytics: AnalyticsService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, the query is typed from its schema.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/admin/analytics/overview', {
      config: { access: 'analytics:read' },
      schema: {
        tags,
        operationId: 'getAnalyticsOverview',
        summary: 'The operators\' overview: live nodes, request rate, error rate and p99, queue, agents online, runs of the last 24 h, dependencies',
        description: `Request figures are the answering node's over about the last minute. ${cachedNote}`,
        response: { 200: OverviewSchema, ...problems }
      }
    }, async () => analytics.overview())

    app.get('/api/v1/admin/analytics/executions', {
      config: { access: 'analytics:read' },
      schema: {
        tags,
        operationId: 'getExecutionSeries',
        summary: 'Runs by status over time: hourly for 1–2 days, daily beyond (up to 90 days)',
        description: cachedNote,
        querystring: DaysQuerySchema,
        response: { 200: ExecutionSeriesSchema, ...problems }
      }
    }, async (request) => analytics.executions(request.query.days))

    app.get('/api/v1/admin/analytics/users', {
      config: { access: 'analytics:read' },
      schema: {
        tags,
        operationId: 'getUserSeries',
        summary: 'Sign-ups and active users per UTC day (up to 90 days)',
        description: cachedNote,
        querystring: DaysQuerySchema,
        response: { 200: UserSeriesSchema, ...problems }
      }
    }, async (request) => analytics.users(request.query.days))
  }
}
