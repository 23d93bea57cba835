import type { Rbac } from '../../platform/rbac.ts'

/**
 * defineAgentPermissions declares who may do what with agents: users read and manage the agents
 * of projects they own (membership is checked in the service); `agent:admin` (admins only) manages
 * every agent, including global ones; `agent:work` is the agent role's own permission (heartbeat,
 * claim, report), never a person's.
 */
export function defineAgentPermissions (rbac: Rbac): void {
  rbac.define({ agent: ['read', 'manage', 'admin', 'work'] }, ['agent:read', 'agent:manage'])
}
