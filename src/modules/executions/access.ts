import type { Actor } from '../../platform/auth.ts'
import { AppError } from '../../platform/errors.ts'
import type { ProjectAccess } from '../projects/index.ts'
import { executionErrors } from './errors.ts'
import { EXECUTION_ADMIN } from './permissions.ts'
import type { ExecutionScope, ExecutionsRepository } from './repository.ts'
import type { ExecutionRow } from './table.ts'

/**
 * createExecutionAccess decides which runs a caller sees: an agent its own, `execution:admin` all,
 * anyone else those of the projects they see. A run the caller may not see is EXECUTION_NOT_FOUND,
 * the same reply as a missing id.
 */
export function createExecutionAccess ({ repo, projects }: { repo: ExecutionsRepository, projects: ProjectAccess }) {
  return {
    /** scopeOf is the part of the runs a list shows the caller. */
    async scopeOf (actor: Actor): Promise<ExecutionScope> {
      if (actor.agentId !== undefined) return { kind: 'agent', agentId: actor.agentId }
      if (actor.permissions.has(EXECUTION_ADMIN)) return { kind: 'all' }
      const ids = await projects.visibleProjectIds(actor)
      return ids === 'all' ? { kind: 'all' } : { kind: 'projects', ids }
    },

    /** requireExecution returns the run when the caller may see it (`need` on its project, or it is the agent running it). */
    async requireExecution (actor: Actor, id: string, need: 'viewer' | 'editor'): Promise<ExecutionRow> {
      const row = await repo.find(id)
      if (!row) throw executionErrors.EXECUTION_NOT_FOUND()
      if (actor.agentId !== undefined) {
        if (row.agentId !== actor.agentId) throw executionErrors.EXECUTION_NOT_FOUND()
        return row
      }
      if (actor.permissions.has(EXECUTION_ADMIN)) return row
      if (row.projectId === null) throw executionErrors.EXECUTION_NOT_FOUND()
      try {
        await projects.requireAccess(actor, row.projectId, need)
      } catch (err) {
        if (err instanceof AppError && err.status === 404) throw executionErrors.EXECUTION_NOT_FOUND()
        throw err
      }
      return row
    }
  }
}
