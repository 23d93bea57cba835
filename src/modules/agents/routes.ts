import type { FastifyPluginAsync } from 'fastify'
import type { Static } from 'typebox'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { AgentsService } from './service.ts'
import {
  AgentEventListSchema, AgentIdParams, AgentListQuerySchema, AgentListSchema, AgentSchema, AgentWithKeySchema,
  CreateAgentSchema, HeartbeatReplySchema, HeartbeatSchema, PageQuerySchema, UpdateAgentSchema
} from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const tags = ['agents']
type Params = { id: string }

/** agentsRoutes let project owners and admins manage agents, and agents report themselves. */
export function agentsRoutes (agents: AgentsService): FastifyPluginAsync {
  return async (app) => {
    app.post('/api/v1/agents', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'registerAgent', summary: 'Register an agent; its credential is shown once', body: CreateAgentSchema, response: { 201: AgentWithKeySchema, ...problems } }
    }, async (request, reply) => {
      return reply.code(201).send(await agents.register(request.actor!, request.body as Static<typeof CreateAgentSchema>, app.securityEvents.contextOf(request)))
    })

    app.get('/api/v1/agents', {
      config: { access: 'agent:read' },
      schema: { tags, operationId: 'listAgents', summary: 'Agents of your projects (admins: every agent), newest first', querystring: AgentListQuerySchema, response: { 200: AgentListSchema, ...problems } }
    }, async (request) => agents.list(request.actor!, request.query as Static<typeof AgentListQuerySchema>))

    app.get('/api/v1/agents/me', {
      config: { access: 'agent:work' },
      schema: { tags, operationId: 'getSelfAgent', summary: 'The calling agent', response: { 200: AgentSchema, ...problems } }
    }, async (request) => (await agents.get(request.actor!, (await agents.self(request.actor!)).id)))

    app.post('/api/v1/agents/me/heartbeat', {
      config: { access: 'agent:work' },
      // A bare `POST` (no body, as a curl one-liner sends it) is a heartbeat with nothing to report.
      preValidation: (request, _reply, done) => { request.body ??= {}; done() },
      schema: { tags, operationId: 'agentHeartbeat', summary: 'Report that the agent is alive (extends the lease of its running executions)', body: HeartbeatSchema, response: { 200: HeartbeatReplySchema, ...problems } }
    }, async (request) => {
      const self = await agents.self(request.actor!)
      return agents.heartbeat(self, (request.body ?? {}) as Static<typeof HeartbeatSchema>)
    })

    app.get('/api/v1/agents/:id', {
      config: { access: 'agent:read' },
      schema: { tags, operationId: 'getAgent', summary: 'One agent', params: AgentIdParams, response: { 200: AgentSchema, ...problems } }
    }, async (request) => agents.get(request.actor!, (request.params as Params).id))

    app.patch('/api/v1/agents/:id', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'updateAgent', summary: 'Rename, relabel or disable an agent (disabling revokes its credential)', params: AgentIdParams, body: UpdateAgentSchema, response: { 200: AgentSchema, ...problems } }
    }, async (request) => agents.update(request.actor!, (request.params as Params).id, request.body as Static<typeof UpdateAgentSchema>, app.securityEvents.contextOf(request)))

    app.delete('/api/v1/agents/:id', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'deleteAgent', summary: 'Delete an agent and its credential; its executions stay in the history', params: AgentIdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await agents.remove(request.actor!, (request.params as Params).id, app.securityEvents.contextOf(request))
      return reply.code(204).send()
    })

    app.post('/api/v1/agents/:id/rotate-key', {
      config: { access: 'agent:manage' },
      schema: { tags, operationId: 'rotateAgentKey', summary: 'Give an agent a new credential; the old one stops at once', params: AgentIdParams, response: { 200: AgentWithKeySchema, ...problems } }
    }, async (request) => agents.rotateKey(request.actor!, (request.params as Params).id, app.securityEvents.contextOf(request)))

    app.get('/api/v1/agents/:id/events', {
      config: { access: 'agent:read' },
      schema: { tags, operationId: 'listAgentEvents', summary: 'An agent\'s activity log, newest first', params: AgentIdParams, querystring: PageQuerySchema, response: { 200: AgentEventListSchema, ...problems } }
    }, async (request) => agents.events(request.actor!, (request.params as Params).id, request.query as Static<typeof PageQuerySchema>))
  }
}
