import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { NotificationsService } from './service.ts'
import { UnsubscribedSchema, UnsubscribeQuerySchema } from './schemas.ts'

const MAX_FORM_BYTES = 1024

/**
 * unsubscribeRoutes hold the one-click unsubscribe of notification mails (RFC 8058): mail clients
 * POST `List-Unsubscribe=One-Click` as a form, so this plugin alone also accepts a small form body
 * (read and ignored: the signed token in the URL says everything).
 */
export function unsubscribeRoutes (notifications: NotificationsService): FastifyPluginAsync {
  return async (fastify) => {
    fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_FORM_BYTES }, (_request, _body, done) => { done(null, undefined) })
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/api/v1/notifications/unsubscribe', {
      config: { access: 'public' },
      schema: {
        tags: ['notifications'],
        operationId: 'unsubscribeNotificationEmail',
        summary: 'One-click unsubscribe: turn off the email of the types a notification mail\'s signed link names (no sign-in)',
        querystring: UnsubscribeQuerySchema,
        response: { 200: UnsubscribedSchema, 400: ProblemSchema, 415: ProblemSchema }
      }
    }, async (request) => notifications.unsubscribe(request.query.token))
  }
}
