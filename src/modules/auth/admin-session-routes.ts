import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { idSchema } from '../../lib/ids.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { UsersService } from '../users/index.ts'
import { authFlowErrors } from './errors.ts'
import { SessionListSchema } from './schemas.ts'
import type { Sessions } from './sessions.ts'
import { toSessionView } from './view.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const tags = ['admin']
const UserParams = Type.Object({ id: idSchema() }, { additionalProperties: false })
const UserSessionParams = Type.Object({ id: idSchema(), sessionId: idSchema() }, { additionalProperties: false })

/** adminSessionRoutes let admins see a user's live sessions and end one (the console's Users page). */
export function adminSessionRoutes (sessions: Sessions, users: UsersService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/admin/users/:id/sessions', {
      config: { access: 'user:read' },
      schema: { tags, operationId: 'listUserSessions', summary: 'A user\'s live sessions, most recently used first (at most 100)', params: UserParams, response: { 200: SessionListSchema, ...problems } }
    }, async (request) => {
      // An unknown or deleted user is a 404, not an empty list.
      await users.get(request.params.id)
      const rows = await sessions.listForUser(request.params.id)
      return { items: rows.map((s) => toSessionView(s)) }
    })

    app.delete('/api/v1/admin/users/:id/sessions/:sessionId', {
      config: { access: 'user:manage' },
      schema: { tags, operationId: 'revokeUserSession', summary: 'End one of a user\'s sessions: its refresh tokens and access tokens stop working at once', params: UserSessionParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const { id, sessionId } = request.params
      // A session of another user, or one already ended, is "not found" like a missing one.
      if (!(await sessions.end(id, sessionId, 'admin', app.securityEvents.contextOf(request)))) throw authFlowErrors.SESSION_NOT_FOUND()
      return reply.code(204).send(null)
    })
  }
}
