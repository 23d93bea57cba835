import type { FastifyPluginAsync } from 'fastify'
import { HealthDetailsSchema } from '../../platform/health-details.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'

/** healthRoutes serve the detailed health view to admins: each dependency's state and latency, version, node, uptime, migrations. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/api/v1/admin/health', {
    config: { access: 'health:read', rateLimit: false },
    schema: {
      tags: ['admin', 'health'],
      operationId: 'getHealthDetails',
      summary: 'Detailed health: every dependency\'s state and latency, version, node id, uptime, migrations applied',
      description: 'Admins only (scrapers holding METRICS_TOKEN read the same at /health/details). The status is what /health/ready reports; this route answers 200 whatever it is.',
      response: { 200: HealthDetailsSchema, 401: ProblemSchema, 403: ProblemSchema }
    }
  }, async () => app.healthDetails())
}
