import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import type { UsersService } from './service.ts'
import { AdminUpdateUserSchema, UpdateMeSchema, UserIdParams, UserListQuerySchema, UserListSchema, UserSchema } from './schemas.ts'

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }

/** usersRoutes serves the signed-in user's profile and the admin user management API. */
export function usersRoutes (users: UsersService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/users/me', {
      config: { access: 'user' },
      schema: { tags: ['users'], operationId: 'getMe', summary: 'The signed-in user', response: { 200: UserSchema, ...errors } }
    }, async (request) => users.get(actorOf(request).userId))

    app.patch('/api/v1/users/me', {
      config: { access: 'user' },
      schema: { tags: ['users'], operationId: 'updateMe', summary: 'Change your profile', body: UpdateMeSchema, response: { 200: UserSchema, ...errors } }
    }, async (request) => users.updateMe(actorOf(request).userId, request.body))

    app.get('/api/v1/admin/users', {
      config: { access: 'user:read' },
      schema: { tags: ['admin'], operationId: 'listUsers', summary: 'Search and page users', querystring: UserListQuerySchema, response: { 200: UserListSchema, ...errors } }
    }, async (request) => users.list(request.query))

    app.get('/api/v1/admin/users/:id', {
      config: { access: 'user:read' },
      schema: { tags: ['admin'], operationId: 'getUser', summary: 'One user', params: UserIdParams, response: { 200: UserSchema, ...errors } }
    }, async (request) => users.get(request.params.id))

    app.patch('/api/v1/admin/users/:id', {
      config: { access: 'user:manage' },
      schema: { tags: ['admin'], operationId: 'updateUser', summary: 'Change roles, status or name', params: UserIdParams, body: AdminUpdateUserSchema, response: { 200: UserSchema, ...errors } }
    }, async (request) => {
      const { id } = request.params
      const changes = request.body
      return (await users.adminUpdate(app.securityEvents.contextOf(request), id, changes)).after
    })

    app.delete('/api/v1/admin/users/:id', {
      config: { access: 'user:manage' },
      schema: { tags: ['admin'], operationId: 'deleteUser', summary: 'Soft-delete a user and end their sessions', params: UserIdParams, response: { 200: UserSchema, ...errors } }
    }, async (request) => {
      requireRecentAuth(request, app.config.auth.stepUpSeconds)
      const { id } = request.params
      return users.softDelete(app.securityEvents.contextOf(request), id)
    })
  }
}
