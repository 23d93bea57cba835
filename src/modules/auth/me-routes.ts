import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import { authFlowErrors } from './errors.ts'
import { contextOf } from './routes.ts'
import { ChangePasswordSchema, SessionIdParams, SessionListSchema } from './schemas.ts'
import type { AuthService } from './service.ts'
import type { Sessions } from './sessions.ts'
import { toSessionView } from './view.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }

/** meRoutes let signed-in users change their password and see and end their sessions. */
export function meRoutes (auth: AuthService, sessions: Sessions, stepUpSeconds: number): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/api/v1/users/me/password', {
      config: { access: 'user', rateLimitTier: 'auth' },
      schema: { tags: ['users'], operationId: 'changePassword', summary: 'Change your password (ends your other sessions; recent sign-in required, STEP_UP_REQUIRED otherwise)', body: ChangePasswordSchema, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const actor = actorOf(request)
      requireRecentAuth(request, stepUpSeconds)
      await auth.changePassword(actor.userId, actor.sessionId, request.body, contextOf(request))
      return reply.code(204).send(null)
    })

    app.get('/api/v1/users/me/sessions', {
      config: { access: 'user' },
      schema: { tags: ['users'], operationId: 'listMySessions', summary: 'Your signed-in sessions', response: { 200: SessionListSchema, ...problems } }
    }, async (request) => {
      const actor = actorOf(request)
      const rows = await sessions.listForUser(actor.userId)
      return { items: rows.map((s) => toSessionView(s, actor.sessionId)) }
    })

    app.delete('/api/v1/users/me/sessions/:id', {
      config: { access: 'user' },
      schema: { tags: ['users'], operationId: 'endMySession', summary: 'End one of your sessions', params: SessionIdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const actor = actorOf(request)
      const { id } = request.params
      // Another user's session id is "not found", exactly like a missing one.
      if (!(await sessions.end(actor.userId, id, 'user', app.securityEvents.contextOf(request)))) throw authFlowErrors.SESSION_NOT_FOUND()
      return reply.code(204).send(null)
    })
  }
}
