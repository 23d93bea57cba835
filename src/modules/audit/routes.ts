import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { AuditListQuerySchema, AuditListSchema } from './schemas.ts'
import type { AuditService } from './service.ts'

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema }

/** auditRoutes serves the admin query over the audit trail (read only: there is no route that changes it). */
export function auditRoutes (audit: AuditService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/admin/audit', {
      config: { access: 'audit:read' },
      schema: {
        tags: ['admin'],
        operationId: 'listAuditEvents',
        summary: 'Search the audit trail, newest first',
        description: "Filters combine with AND; `action` is exact or a prefix ending in '*' (`auth.*`); pages with `nextCursor`.",
        querystring: AuditListQuerySchema,
        response: { 200: AuditListSchema, ...errors }
      }
    }, async (request) => audit.list(request.query))
  }
}
