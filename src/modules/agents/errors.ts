import { defineErrors } from '../../platform/errors.ts'

/** agentErrors are the agents module's codes; another user's agent is "not found", like a missing one. */
export const agentErrors = defineErrors({
  AGENT_NOT_FOUND: [404, 'Agent not found'],
  AGENT_GLOBAL_ADMIN_ONLY: [403, 'Only an admin registers an agent that serves every project; give the projectId of a project you own'],
  AGENT_REQUIRED: [403, 'Only an agent, with its own credential, can do this'],
  AGENT_DISABLED: [403, 'This agent is disabled'],
  AGENT_LIMIT: [409, 'This project has reached the maximum number of agents'],
  AGENT_IN_USE: [409, 'Tasks still run on this agent; point them at another agent or at labels first']
})
