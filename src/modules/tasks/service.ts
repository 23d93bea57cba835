import type { FastifyBaseLogger } from 'fastify'
import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import { AppError } from '../../platform/errors.ts'
import type { ProjectAccess, ProjectRole } from '../projects/index.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import { violatedConstraint } from '../../lib/sql-state.ts'
import { createDueTasks, type FireMany, type FireTask } from './due.ts'
import { invalidFields, taskErrors } from './errors.ts'
import { taskEvent } from './events.ts'
import { createTasksRepository } from './repository.ts'
import { firstRunAfter, resolveTaskInput, type RulesDeps } from './rules.ts'
import type { CreateTaskInput, Task, TaskListQuery, UpdateTaskInput } from './schemas.ts'
import type { TaskRow } from './table.ts'
import { toTask } from './view.ts'

/** TasksDeps is what the tasks service is built from. */
export interface TasksDeps extends RulesDeps {
  db: Database
  events: Events
  audit: SecurityEvents
  projects: ProjectAccess
  /** maxPerProject caps the tasks of one project (TASKS_MAX_PER_PROJECT). */
  maxPerProject: number
  log: FastifyBaseLogger
  /** fire hands a claimed slot on (fire.ts: the `tasks.fire` job); `many` a claimed batch in one statement. */
  fire: { one: FireTask, many?: FireMany }
  cursors: CursorCodec
}

/** createTasksService holds the task rules: project roles, schedules, the per-project cap, and the scheduler's claim. */
export function createTasksService (deps: TasksDeps) {
  const { db, events, audit, projects, maxPerProject, cursors } = deps
  const repo = createTasksRepository(db)
  const due = createDueTasks({ db, log: deps.log, fire: deps.fire.one, fireMany: deps.fire.many })

  /** requireTask returns the task when the actor has at least `need` on its project; 404 TASK_NOT_FOUND otherwise (same body for missing and foreign). */
  async function requireTask (actor: Actor, taskId: string, need: ProjectRole): Promise<TaskRow> {
    const row = await repo.find(taskId)
    if (!row) throw taskErrors.TASK_NOT_FOUND()
    try {
      await projects.requireAccess(actor, row.projectId, need)
    } catch (err) {
      // A project the actor cannot see must not be told apart from a missing task.
      if (err instanceof AppError && err.status === 404) throw taskErrors.TASK_NOT_FOUND()
      throw err
    }
    return row
  }

  // The project or the target agent was deleted between the checks and the write.
  function vanished (err: unknown): never {
    const constraint = violatedConstraint(err, '23503')
    if (constraint === undefined) throw err
    if (constraint.includes('agent')) throw invalidFields([{ path: 'body.target.agentId', message: 'is not an agent of this project or a global agent' }])
    throw taskErrors.TASK_PROJECT_GONE()
  }

  return {
    requireTask,

    /** create adds a task to a project the actor edits, within the per-project cap (held under concurrent creates). */
    async create (actor: Actor, projectId: string, input: CreateTaskInput): Promise<Task> {
      await projects.requireAccess(actor, projectId, 'editor')
      const values = await resolveTaskInput(input, undefined, projectId, deps, new Date())
      const row = await db.transaction(async (tx) => {
        await repo.lockProject(projectId, tx)
        if ((await repo.countInProject(projectId, tx)) >= maxPerProject) {
          throw taskErrors.TASK_LIMIT(`This project holds the maximum of ${maxPerProject} tasks; delete one first`)
        }
        const row = await repo.insert({ ...values, name: input.name, projectId, createdBy: actor.userId }, tx)
        await events.record(taskEvent('task.created', row), tx)
        return row
      }).catch(vanished)
      return toTask(row)
    },

    async list (actor: Actor, projectId: string, query: TaskListQuery): Promise<{ items: Task[], nextCursor: string | null }> {
      await projects.requireAccess(actor, projectId, 'viewer')
      const list = `tasks:${projectId}`
      const cursor = cursors.after(list, query.cursor)
      return cursors.pageOf(list, await repo.list(projectId, query.limit, { cursor, enabled: query.enabled, q: query.q?.trim() || undefined }), query.limit, toTask)
    },

    get: async (actor: Actor, taskId: string): Promise<Task> => toTask(await requireTask(actor, taskId, 'viewer')),

    /** update changes some fields; the row is locked while the new values are checked, so concurrent edits never mix stale values. */
    async update (actor: Actor, taskId: string, input: UpdateTaskInput): Promise<Task> {
      await requireTask(actor, taskId, 'editor')
      const row = await db.transaction(async (tx) => {
        const current = await repo.findForUpdate(taskId, tx)
        if (!current) throw taskErrors.TASK_NOT_FOUND()
        const values = await resolveTaskInput(input, current, current.projectId, deps, new Date())
        const row = (await repo.update(taskId, values, tx)) ?? current
        await events.record(taskEvent('task.updated', row), tx)
        return row
      }).catch(vanished)
      return toTask(row)
    },

    /** remove deletes a task, audited as `context`; its executions stay, with their task id set to null. */
    async remove (actor: Actor, taskId: string, context: AuditContext): Promise<TaskRow> {
      const row = await requireTask(actor, taskId, 'editor')
      await db.transaction(async (tx) => {
        await repo.delete(taskId, tx)
        await events.record(taskEvent('task.deleted', row), tx)
        await audit.record(context, { action: 'task.deleted', outcome: 'success', targetType: 'task', targetId: row.id, details: { projectId: row.projectId, name: row.name } }, tx)
      })
      return row
    },

    /** pause stops a task firing on its schedule; pausing a paused task changes nothing. */
    async pause (actor: Actor, taskId: string): Promise<Task> {
      const row = await requireTask(actor, taskId, 'editor')
      if (!row.enabled && row.nextRunAt === null) return toTask(row)
      return toTask(await db.transaction(async (tx) => {
        const paused = (await repo.update(taskId, { enabled: false, nextRunAt: null }, tx)) ?? row
        await events.record(taskEvent('task.paused', paused), tx)
        return paused
      }))
    },

    /** resume lets a task fire again from its first slot after now (slots missed while paused never run); resuming a running task changes nothing. */
    async resume (actor: Actor, taskId: string): Promise<Task> {
      await requireTask(actor, taskId, 'editor')
      const row = await db.transaction(async (tx) => {
        const current = await repo.findForUpdate(taskId, tx)
        if (!current) throw taskErrors.TASK_NOT_FOUND()
        if (current.enabled) return current
        let nextRunAt: Date | null = null
        try {
          nextRunAt = firstRunAfter(current.schedule, current.timezone, true, new Date())
        } catch {
          // Left without a next run, like the scheduler does with a schedule it can no longer read.
        }
        const resumed = (await repo.update(taskId, { enabled: true, nextRunAt }, tx)) ?? current
        await events.record(taskEvent('task.resumed', resumed), tx)
        return resumed
      })
      return toTask(row)
    },

    /** targetingReason says why the agent cannot go (tasks run only on it), or undefined; the agents module asks before deleting one. */
    async targetingReason (agentId: string, tx: Database): Promise<string | undefined> {
      const n = await repo.countTargeting(agentId, tx)
      if (n === 0) return undefined
      return `${n} task${n === 1 ? '' : 's'} still run${n === 1 ? 's' : ''} on this agent; point ${n === 1 ? 'it' : 'them'} at another agent or at labels first`
    },

    /** creatorOf names the user who created the task (null: unknown or deleted), read in the caller's transaction. */
    creatorOf: async (taskId: string, tx: Database): Promise<string | null> => (await repo.find(taskId, tx))?.createdBy ?? null,

    fireDue: due.fireDue
  }
}

/** TasksService is the tasks module's service. */
export type TasksService = ReturnType<typeof createTasksService>
