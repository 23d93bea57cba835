import type { Rbac } from '../../platform/rbac.ts'

/**
 * defineAgentPermissions declares who may do what with agents: users read and manage the agents
 * of projects they own (membership is checked in the service); `agent:admin` (admins only) manages
 * every agent, including global ones; `agent:work` is the agent role's own permission (heartbeat,
 * claim, report), never a person's.
 */
export function defineAgentPermissions (rbac: Rbac): void {
  rbac.define(agentPermissions, userAgentPermissions)
}

/** agentPermissions are the agent actions. */
export const agentPermissions = { agent: ['read', 'manage', 'admin', 'work'] } as const

/** userAgentPermissions are what the built-in `user` role holds. */
export const userAgentPermissions = ['agent:read', 'agent:manage'] as const

/** AGENT_ADMIN is the permission that manages every agent without project membership. */
export const AGENT_ADMIN = 'agent:admin'

/** AGENT_READ is the permission to see agents at all (ownership or agent:admin then decides which). */
export const AGENT_READ = 'agent:read'
