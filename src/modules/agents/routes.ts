import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { AgentsService } from './service.ts'
import { AgentEventListSchema, AgentIdParams, AgentListQuerySchema, AgentListSchema, AgentSchema, AgentWithKeySchema, CreateAgentSchema, HeartbeatReplySchema, HeartbeatSchema, PageQuerySchema, UpdateAgentSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['agents']

/** agentsRoutes let project owners and admins manage agents, and agents report themselves. */
export function agentsRoutes (agents: AgentsService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/api/v1/agents', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'registerAgent', summary: 'Register an agent; its credential is shown once', body: CreateAgentSchema, response: { 201: AgentWithKeySchema, ...problems } }
    }, async (request, reply) => {
      return reply.code(201).send(await agents.register(actorOf(request), request.body, app.securityEvents.contextOf(request)))
    })

    app.get('/api/v1/agents', {
      config: { access: 'agent:read' },
      schema: { tags, operationId: 'listAgents', summary: 'Agents of your projects (admins: every agent), newest first', querystring: AgentListQuerySchema, response: { 200: AgentListSchema, ...problems } }
    }, async (request) => agents.list(actorOf(request), request.query))

    app.get('/api/v1/agents/me', {
      config: { access: 'agent:work' },
      schema: { tags, operationId: 'getSelfAgent', summary: 'The calling agent', response: { 200: AgentSchema, ...problems } }
    }, async (request) => (await agents.get(actorOf(request), (await agents.self(actorOf(request))).id)))

    app.post('/api/v1/agents/me/heartbeat', {
      config: { access: 'agent:work' },
      // A bare `POST` (no body, as a curl one-liner sends it) is a heartbeat with nothing to report.
      preValidation: (request, _reply, done) => { request.body ??= {}; done() },
      schema: { tags, operationId: 'agentHeartbeat', summary: 'Report that the agent is alive (extends the lease of its running executions)', body: HeartbeatSchema, response: { 200: HeartbeatReplySchema, ...problems } }
    }, async (request) => {
      const self = await agents.self(actorOf(request))
      return agents.heartbeat(self, request.body)
    })

    app.get('/api/v1/agents/:id', {
      config: { access: 'agent:read' },
      schema: { tags, operationId: 'getAgent', summary: 'One agent', params: AgentIdParams, response: { 200: AgentSchema, ...problems } }
    }, async (request) => agents.get(actorOf(request), request.params.id))

    app.patch('/api/v1/agents/:id', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'updateAgent', summary: 'Rename, relabel or disable an agent (disabling revokes its credential)', params: AgentIdParams, body: UpdateAgentSchema, response: { 200: AgentSchema, ...problems } }
    }, async (request) => agents.update(actorOf(request), request.params.id, request.body, app.securityEvents.contextOf(request)))

    app.delete('/api/v1/agents/:id', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'deleteAgent', summary: 'Delete an agent and its credential; its executions stay in the history', params: AgentIdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await agents.remove(actorOf(request), request.params.id, app.securityEvents.contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/agents/:id/rotate-key', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'rotateAgentKey', summary: 'Give an agent a new credential; the old one stops at once', params: AgentIdParams, response: { 200: AgentWithKeySchema, ...problems } }
    }, async (request) => agents.rotateKey(actorOf(request), request.params.id, app.securityEvents.contextOf(request)))

    app.get('/api/v1/agents/:id/events', {
      config: { access: 'agent:read' },
      schema: { tags, operationId: 'listAgentEvents', summary: 'An agent\'s activity log, newest first', params: AgentIdParams, querystring: PageQuerySchema, response: { 200: AgentEventListSchema, ...problems } }
    }, async (request) => agents.events(actorOf(request), request.params.id, request.query))
  }
}
