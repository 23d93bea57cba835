import type { Config } from '../../config.ts'
import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import type { Events } from '../../platform/events.ts'
import { AppError, platformErrors } from '../../platform/errors.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import type { ApiKeysService } from '../api-keys/index.ts'
import type { ProjectAccess } from '../projects/index.ts'
import { agentErrors } from './errors.ts'
import { agentEvent, statusEventType } from './events.ts'
import { AGENT_ADMIN } from './permissions.ts'
import { createAgentsRepository } from './repository.ts'
import type { AgentRow, AgentStatus } from './table.ts'
import { toAgent, toAgentEvent, type Agent } from './view.ts'

/** MAX_AGENTS_PER_PROJECT bounds how many agents one project registers. */
export const MAX_AGENTS_PER_PROJECT = 100

interface AgentsDeps { db: Database, projects: ProjectAccess, apiKeys: ApiKeysService, events: Events, audit: SecurityEvents, config: Config, cursors: CursorCodec }

/** RemovalGuard tells why an agent may not be deleted (in the deletion's transaction, the agent row locked), or undefined. */
export type RemovalGuard = (agentId: string, tx: Database) => Promise<string | undefined>

/** createAgentsService holds the agent rules: who registers and manages which agent, and each agent's own state. */
export function createAgentsService ({ db, projects, apiKeys, events, audit, config, cursors }: AgentsDeps) {
  const audited = (context: AuditContext, action: string, agentId: string, details: Record<string, unknown>, tx: Database) =>
    audit.record(context, { action, outcome: 'success', targetType: 'agent', targetId: agentId, details }, tx)
  const repo = createAgentsRepository(db)
  const heartbeatListeners: Array<(agentId: string) => Promise<void>> = []
  const removalGuards: RemovalGuard[] = []
  const removalListeners: Array<(agentId: string, tx: Database) => Promise<void>> = []
  const isAdmin = (actor: Actor) => actor.permissions.has(AGENT_ADMIN)

  /** requireAgent returns the agent when the caller may act on it with `need` on its project; 404 otherwise. */
  async function requireAgent (actor: Actor, id: string, need: 'viewer' | 'owner'): Promise<AgentRow> {
    const row = await repo.find(id)
    if (!row) throw agentErrors.AGENT_NOT_FOUND()
    if (isAdmin(actor)) return row
    // Global agents are shared infrastructure, managed and listed by admins only.
    if (row.projectId === null) throw agentErrors.AGENT_NOT_FOUND()
    try {
      await projects.requireAccess(actor, row.projectId, need)
    } catch (err) {
      if (err instanceof AppError && err.status === 404) throw agentErrors.AGENT_NOT_FOUND()
      throw err
    }
    return row
  }

  async function issueKey (ownerId: string, agent: AgentRow, tx: Database): Promise<{ key: string, prefixes: string[] }> {
    const issued = await apiKeys.issueAgentKey(ownerId, agent.id, `agent ${agent.name}`, tx)
    await repo.update(agent.id, { apiKeyId: issued.id }, tx)
    return { key: issued.key, prefixes: issued.revokedPrefixes }
  }

  async function changeStatus (agentId: string, to: AgentStatus, touch: boolean, reason: string, tx: Database = db, onlyFrom?: AgentStatus): Promise<void> {
    const changed = await repo.setStatus(agentId, to, touch, tx, onlyFrom)
    if (!changed) return
    await repo.addEvent({ agentId, kind: 'status_changed', fromStatus: changed.from, toStatus: to, detail: { reason } }, tx)
    const agent = await repo.find(agentId, tx)
    if (agent) await events.record(agentEvent(statusEventType(changed.from, to), agent, { from: changed.from, status: to, reason }), tx)
  }

  return {
    requireAgent,

    /** register creates an agent and its credential (shown once): owners for their project, admins for any or every project. */
    async register (actor: Actor, input: { name: string, description?: string, labels?: string[], projectId?: string }, context: AuditContext): Promise<{ agent: Agent, apiKey: string }> {
      if (input.projectId === undefined) {
        if (!isAdmin(actor)) throw agentErrors.AGENT_GLOBAL_ADMIN_ONLY()
      } else if (!isAdmin(actor)) {
        await projects.requireAccess(actor, input.projectId, 'owner')
      } else {
        await projects.requireAccess(actor, input.projectId, 'viewer') // 404 for a missing project
      }
      const { row, key } = await db.transaction(async (tx) => {
        if (input.projectId !== undefined && (await repo.countInProject(input.projectId, tx)) >= MAX_AGENTS_PER_PROJECT) throw agentErrors.AGENT_LIMIT()
        const row = await repo.insert({ name: input.name, description: input.description ?? '', labels: input.labels ?? [], projectId: input.projectId ?? null, ownerId: actor.userId }, tx)
        await repo.addEvent({ agentId: row.id, kind: 'registered', toStatus: 'offline', detail: { by: actor.userId } }, tx)
        await events.record(agentEvent('agent.registered', row, { labels: row.labels }), tx)
        await audited(context, 'agent.registered', row.id, { name: row.name, projectId: row.projectId }, tx)
        const key = await issueKey(actor.userId, row, tx)
        return { row, key }
      })
      await apiKeys.forgetPrefixes(key.prefixes)
      return { agent: toAgent(row), apiKey: key.key }
    },

    async list (actor: Actor, query: { limit: number, cursor?: string, projectId?: string, status?: AgentStatus, label?: string }) {
      const scope = isAdmin(actor) ? 'all' : await projects.visibleProjectIds(actor)
      const rows = await repo.list(scope, query, query.limit, cursors.after('agents', query.cursor))
      return cursors.pageOf('agents', rows, query.limit, toAgent)
    },

    get: async (actor: Actor, id: string): Promise<Agent> => toAgent(await requireAgent(actor, id, 'viewer')),

    async update (actor: Actor, id: string, changes: { name?: string, description?: string, labels?: string[], enabled?: boolean }, context: AuditContext): Promise<Agent> {
      const before = await requireAgent(actor, id, 'owner')
      const { enabled, ...fields } = changes
      // Its key was revoked when it was disabled: only a new key (rotate) brings it back.
      if (enabled === true && before.disabledAt !== null) throw platformErrors.CONFLICT('A disabled agent is enabled again by rotating its key, which gives it a new credential')
      const result = await db.transaction(async (tx) => {
        const set: Parameters<typeof repo.update>[1] = { ...fields }
        let revoked: string[] = []
        if (enabled === false && before.disabledAt === null) {
          set.disabledAt = new Date()
          revoked = await apiKeys.revokeAgentKeys(id, tx)
          await repo.addEvent({ agentId: id, kind: 'disabled', detail: { by: actor.userId } }, tx)
        }
        const row = await repo.update(id, set, tx)
        await events.record(agentEvent(set.disabledAt ? 'agent.disabled' : 'agent.updated', row!, { labels: row!.labels }), tx)
        await audited(context, 'agent.updated', id, { fields: Object.keys(changes) }, tx)
        return { row: row!, revoked }
      })
      await apiKeys.forgetPrefixes(result.revoked)
      return toAgent(result.row)
    },

    /** rotateKey replaces the agent's credential (the old one stops at once) and re-enables a disabled agent. */
    async rotateKey (actor: Actor, id: string, context: AuditContext): Promise<{ agent: Agent, apiKey: string }> {
      const agent = await requireAgent(actor, id, 'owner')
      const { row, key } = await db.transaction(async (tx) => {
        const key = await issueKey(actor.userId, agent, tx)
        const row = await repo.update(id, { disabledAt: null }, tx)
        await repo.addEvent({ agentId: id, kind: 'key_rotated', detail: { by: actor.userId } }, tx)
        await events.record(agentEvent('agent.key_rotated', row!), tx)
        await audited(context, 'agent.key_rotated', id, {}, tx)
        return { row: row!, key }
      })
      await apiKeys.forgetPrefixes(key.prefixes)
      return { agent: toAgent(row), apiKey: key.key }
    },

    /**
     * remove deletes the agent and its credential; its executions stay in the history. An agent a
     * task still names is refused (409): the task would otherwise lose its target and run anywhere.
     */
    async remove (actor: Actor, id: string, context: AuditContext): Promise<AgentRow> {
      const agent = await requireAgent(actor, id, 'owner')
      const revoked = await db.transaction(async (tx) => {
        // Listeners first: a claim of this agent in flight holds a run row and then waits for the
        // agent row, so touching runs after locking the agent could deadlock with it.
        for (const listener of removalListeners) await listener(id, tx)
        await repo.lock(id, tx)
        for (const guard of removalGuards) {
          const reason = await guard(id, tx)
          if (reason !== undefined) throw agentErrors.AGENT_IN_USE(reason)
        }
        const revoked = await apiKeys.revokeAgentKeys(id, tx)
        await repo.remove(id, tx)
        await events.record(agentEvent('agent.deleted', agent), tx)
        await audited(context, 'agent.deleted', id, { name: agent.name }, tx)
        return revoked
      })
      await apiKeys.forgetPrefixes(revoked)
      return agent
    },

    async events (actor: Actor, id: string, query: { limit: number, cursor?: string }) {
      await requireAgent(actor, id, 'viewer')
      const list = `agent-events:${id}`
      return cursors.pageOf(list, await repo.events(id, query.limit, cursors.after(list, query.cursor)), query.limit, toAgentEvent)
    },

    /** usableBy tells whether a task of the project may target the agent: the project's own agents and global ones. */
    async usableBy (projectId: string, agentId: string): Promise<boolean> {
      const row = await repo.find(agentId)
      return row !== undefined && (row.projectId === null || row.projectId === projectId)
    },

    /** self returns the calling agent; only an agent's own enabled credential gets here. */
    async self (actor: Actor): Promise<AgentRow> {
      if (actor.agentId === undefined) throw agentErrors.AGENT_REQUIRED()
      const row = await repo.find(actor.agentId)
      if (!row) throw agentErrors.AGENT_NOT_FOUND()
      if (row.disabledAt !== null) throw agentErrors.AGENT_DISABLED()
      return row
    },

    /** heartbeat records a sign of life: an offline agent comes back online, a busy one stays busy. */
    async heartbeat (agent: AgentRow, report: { version?: string, labels?: string[] }) {
      await db.transaction(async (tx) => {
        await repo.touch(agent.id, report, tx)
        if (agent.status === 'offline') await changeStatus(agent.id, 'online', true, 'heartbeat', tx)
      })
      for (const listener of heartbeatListeners) await listener(agent.id)
      const row = await repo.find(agent.id)
      return { agent: toAgent(row!), heartbeatSeconds: Math.max(1, Math.floor(config.work.agentOfflineAfterSeconds / 3)), leaseSeconds: config.work.leaseSeconds }
    },

    /** guardRemoval adds a check run before an agent is deleted; a reason it returns refuses the deletion (the tasks module's targets). */
    guardRemoval: (guard: RemovalGuard): void => { removalGuards.push(guard) },

    /** onRemoving runs a listener in an agent's deletion transaction, before the agent row is locked; a guard that refuses rolls it back (the executions module cancels the runs only that agent could take). */
    onRemoving: (listener: (agentId: string, tx: Database) => Promise<void>): void => { removalListeners.push(listener) },

    /** onHeartbeat runs a listener after each heartbeat is recorded (the executions module extends leases with it). */
    onHeartbeat: (listener: (agentId: string) => Promise<void>): void => { heartbeatListeners.push(listener) },

    /** startedWork marks the agent busy (called by the executions module in the claim's transaction). */
    startedWork: async (agentId: string, tx: Database): Promise<void> => {
      await changeStatus(agentId, 'busy', true, 'claimed work', tx)
    },

    /** finishedWork marks a busy agent online again once it runs nothing (an offline agent stays offline). */
    finishedWork: async (agentId: string, tx: Database): Promise<void> => {
      await changeStatus(agentId, 'online', false, 'finished work', tx, 'busy')
    },

    /** sweepOffline marks agents silent past the heartbeat window offline and logs each change once. */
    async sweepOffline (now: Date): Promise<number> {
      return db.transaction(async (tx) => {
        const changed = await repo.markStaleOffline(config.work.agentOfflineAfterSeconds, now, tx)
        for (const c of changed) {
          await repo.addEvent({ agentId: c.id, kind: 'status_changed', fromStatus: c.from, toStatus: 'offline', detail: { reason: 'missed heartbeats' } }, tx)
          const agent = await repo.find(c.id, tx)
          if (agent) await events.record(agentEvent('agent.went_offline', agent, { from: c.from, status: 'offline', reason: 'missed heartbeats' }), tx)
        }
        return changed.length
      })
    }
  }
}

/** AgentsService is the agents module's service. */
export type AgentsService = ReturnType<typeof createAgentsService>
