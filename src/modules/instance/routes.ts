import type { FastifyPluginAsync } from 'fastify'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { InstanceService } from './service.ts'
import { InstanceSchema } from './schemas.ts'

/** instanceRoutes serves the public instance description. */
export function instanceRoutes (instance: InstanceService): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/instance', {
      config: { access: 'public' },
      schema: {
        tags: ['instance'],
        operationId: 'getInstance',
        security: [], // public: no credentials needed
        summary: 'Describe this Backplane instance',
        description: 'Public: frontends use it to check they reach the right backend and version.',
        response: { 200: InstanceSchema, 503: ProblemSchema }
      }
    }, async () => instance.info())
  }
}
