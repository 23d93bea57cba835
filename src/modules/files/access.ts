import type { Actor } from '../../platform/auth.ts'
import { AppError } from '../../platform/errors.ts'
import type { ExecutionsService } from '../executions/index.ts'
import type { ProjectAccess } from '../projects/index.ts'
import type { TasksService } from '../tasks/index.ts'
import { fileErrors } from './errors.ts'
import type { FileOwner } from './repository.ts'
import type { FileRow } from './table.ts'

/** FileOwners are the modules whose rules decide who sees and changes a file. */
export interface FileOwners {
  projects: ProjectAccess
  tasks: Pick<TasksService, 'requireTask'>
  executions: Pick<ExecutionsService, 'requireExecution'>
}

/** Granted is an owner the caller may use: where its files count against a quota, and whether the access is an admin's, not a member's. */
export interface Granted {
  projectId: string | null
  taskId: string | null
  executionId: string | null
  /** admin: the caller reaches it through an admin permission, not a membership (their downloads are audited). */
  admin: boolean
}

/**
 * createFileAccess applies the owner's rules: a project's files follow its roles, a task's
 * attachments its task's, a run's artifacts its run's (viewers read, editors write). An artifact is
 * uploaded only by the agent that holds the run while it runs.
 */
export function createFileAccess ({ projects, tasks, executions }: FileOwners) {
  const viaAdmin = async (actor: Actor, projectId: string | null) =>
    actor.agentId === undefined && (projectId === null || (await projects.roleOf(actor.userId, projectId)) === undefined)

  async function owner (actor: Actor, target: FileOwner, need: 'viewer' | 'editor'): Promise<Granted> {
    if (target.kind === 'project') {
      const { role } = await projects.requireAccess(actor, target.id, need)
      return { projectId: target.id, taskId: null, executionId: null, admin: role === 'admin' }
    }
    if (target.kind === 'task') {
      const task = await tasks.requireTask(actor, target.id, need)
      return { projectId: task.projectId, taskId: task.id, executionId: null, admin: await viaAdmin(actor, task.projectId) }
    }
    const run = await executions.requireExecution(actor, target.id, need)
    return { projectId: run.projectId, taskId: null, executionId: run.id, admin: await viaAdmin(actor, run.projectId) }
  }

  return {
    owner,

    /** holder checks that the calling agent holds the run now: another's run is 404, its own ended run 409. */
    async holder (actor: Actor, executionId: string): Promise<Granted> {
      const run = await executions.requireExecution(actor, executionId, 'viewer')
      if (actor.agentId === undefined || run.agentId !== actor.agentId) throw fileErrors.FILE_NOT_FOUND()
      if (run.status !== 'running') throw fileErrors.FILE_RUN_NOT_HELD(`This execution is ${run.status}; artifacts are uploaded while it runs`)
      return { projectId: run.projectId, taskId: null, executionId: run.id, admin: false }
    },

    /** file checks access to one file through its owner; anything the caller cannot see is FILE_NOT_FOUND, like a missing file. */
    async file (actor: Actor, row: FileRow | undefined, need: 'viewer' | 'editor'): Promise<Granted> {
      const id = row === undefined || row.status !== 'active' ? undefined : { project: row.projectId, task: row.taskId, artifact: row.executionId }[row.kind]
      if (row === undefined || id == null) throw fileErrors.FILE_NOT_FOUND()
      try {
        return await owner(actor, { kind: row.kind, id }, need)
      } catch (err) {
        if (err instanceof AppError && err.status === 404) throw fileErrors.FILE_NOT_FOUND()
        throw err
      }
    }
  }
}

/** FileAccess is what createFileAccess returns. */
export type FileAccess = ReturnType<typeof createFileAccess>
