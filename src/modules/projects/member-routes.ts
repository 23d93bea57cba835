import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { MembersService } from './members-service.ts'
import { AddMemberSchema, MemberListQuerySchema, MemberListSchema, MemberParams, MemberSchema, ProjectIdParams, UpdateMemberSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['projects']

/** memberRoutes serve `/api/v1/projects/:id/members`: viewers list, owners manage, anyone may leave. */
export function memberRoutes (members: MembersService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/projects/:id/members', {
      config: { access: 'project:read' },
      schema: {
        tags,
        operationId: 'listProjectMembers',
        summary: "A project's members, oldest first (viewers and up)",
        params: ProjectIdParams,
        querystring: MemberListQuerySchema,
        response: { 200: MemberListSchema, ...problems }
      }
    }, async (request) => members.list(actorOf(request), request.params.id, request.query))

    app.post('/api/v1/projects/:id/members', {
      config: { access: 'project:update' },
      schema: {
        tags,
        operationId: 'addProjectMember',
        summary: 'Add an active user, by email or id, with a role (owners)',
        params: ProjectIdParams,
        body: AddMemberSchema,
        response: { 201: MemberSchema, ...problems }
      }
    }, async (request, reply) => {
      const { id } = request.params
      const change = await members.add(actorOf(request), id, request.body, app.securityEvents.contextOf(request))
      return reply.code(201).send(change.member)
    })

    app.patch('/api/v1/projects/:id/members/:userId', {
      config: { access: 'project:update' },
      schema: {
        tags,
        operationId: 'updateProjectMember',
        summary: "Change a member's role (owners); the last owner cannot be demoted",
        params: MemberParams,
        body: UpdateMemberSchema,
        response: { 200: MemberSchema, ...problems }
      }
    }, async (request) => {
      const { id, userId } = request.params
      const change = await members.setRole(actorOf(request), id, userId, request.body.role, app.securityEvents.contextOf(request))
      return change.member
    })

    app.delete('/api/v1/projects/:id/members/:userId', {
      // project:read: any member may leave; removing someone else also needs project:update and the owner role.
      config: { access: 'project:read' },
      schema: {
        tags,
        operationId: 'removeProjectMember',
        summary: 'Remove a member (owners) or leave a project (yourself); the last owner cannot leave',
        params: MemberParams,
        response: { 204: { type: 'null' }, ...problems }
      }
    }, async (request, reply) => {
      const { id, userId } = request.params
      await members.remove(actorOf(request), id, userId, app.securityEvents.contextOf(request))
      return reply.code(204).send(null)
    })
  }
}
