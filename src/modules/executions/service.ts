import { EventEmitter, once } from 'node:events'
import type { Config } from '../../config.ts'
import type { Actor } from '../../platform/auth.ts'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import type { AppError } from '../../platform/errors.ts'
import { platformErrors } from '../../platform/errors.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import type { AgentsService } from '../agents/index.ts'
import type { AgentRow } from '../agents/index.ts'
import type { ProjectAccess } from '../projects/index.ts'
import type { RunSnapshot, TaskRow } from '../tasks/index.ts'
import { executionErrors } from './errors.ts'
import { endEvent, executionEvent } from './events.ts'
import { createExecutionsRepository, type ExecutionFilter } from './repository.ts'
import type { ExecutionRow } from './table.ts'
import { toExecution, toExecutionSummary, type Execution } from './view.ts'
import { inRunTrace, runTraceContext } from './trace.ts'
import { asTraceCarrier, type TraceCarrier } from '../../platform/tracing.ts'
import { createExecutionAccess } from './access.ts'
import { createRetries } from './retries.ts'

const MAX_RESULT_BYTES = 65536
/** MAX_QUEUED_PER_TASK bounds the runs waiting for an agent per task, so "run now" cannot pile up work. */
export const MAX_QUEUED_PER_TASK = 100

interface ExecutionsDeps { db: Database, projects: ProjectAccess, agents: AgentsService, events: Events, audit: SecurityEvents, config: Config, cursors: CursorCodec }

function fromTask (task: RunSnapshot) {
  return {
    taskId: task.id,
    projectId: task.projectId,
    taskName: task.name,
    payload: task.payload,
    targetAgentId: task.targetAgentId,
    targetLabels: task.targetLabels,
    timeoutSeconds: task.timeoutSeconds,
    maxAttempts: task.maxAttempts,
    backoffSeconds: task.backoffSeconds
  }
}

function checkResultSize (result: unknown): void {
  if (result !== undefined && Buffer.byteLength(JSON.stringify(result)) > MAX_RESULT_BYTES) throw executionErrors.EXECUTION_RESULT_TOO_LARGE()
}

/** createExecutionsService holds the run rules: creating runs, handing them to agents, their ends, retries and timeouts. */
export function createExecutionsService ({ db, projects, agents, events, audit, config, cursors }: ExecutionsDeps) {
  const repo = createExecutionsRepository(db)
  const { leaseSeconds, logMaxChars: logMax } = config.work
  // Wakes long-polling claims on this node when work is queued here; other nodes find it on their next poll.
  const wake = new EventEmitter()
  wake.setMaxListeners(0)
  let closing = false
  const queued = () => { wake.emit('queued') }

  const { scopeOf, requireExecution } = createExecutionAccess({ repo, projects })
  const retryIfAllowed = createRetries({ repo, events })

  async function end (agent: AgentRow, id: string, outcome: { status: 'succeeded' | 'failed', result?: unknown, error?: string, log?: string, retry?: boolean }): Promise<Execution> {
    checkResultSize(outcome.result)
    const row = await db.transaction(async (tx) => {
      const row = await repo.finish(id, agent.id, { ...outcome, logMax }, tx)
      if (!row) return undefined
      return inRunTrace(row, outcome.status === 'succeeded' ? 'complete' : 'fail', async () => {
        await events.record(endEvent(row), tx)
        if (outcome.status === 'failed' && outcome.retry !== false) await retryIfAllowed(row, tx)
        if ((await repo.runningCount(agent.id, tx)) === 0) await agents.finishedWork(agent.id, tx)
        return row
      })
    })
    if (!row) throw await notRunning(agent, id)
    queued()
    return toExecution(row)
  }

  // An agent reporting on a run it no longer holds learns why: not its run (404) or no longer running (409).
  async function notRunning (agent: AgentRow, id: string): Promise<AppError> {
    const row = await repo.find(id)
    if (!row || row.agentId !== agent.id) return executionErrors.EXECUTION_NOT_FOUND()
    return executionErrors.EXECUTION_NOT_RUNNING(`This execution is ${row.status}; stop working on it`)
  }

  agents.onHeartbeat(async (agentId) => { await repo.extendLeases(agentId, leaseSeconds) })

  return {
    requireExecution,

    /** fire creates the run of a task's schedule slot; a slot that already has its run changes nothing. */
    async fire (task: RunSnapshot, slot: Date, tx: Database = db): Promise<ExecutionRow | undefined> {
      // In the caller's transaction when there is one (a savepoint), else in a transaction of its own.
      const row = await tx.transaction(async (inner) => {
        const row = await repo.insert({ ...fromTask(task), trigger: 'schedule', slot, ...runTraceContext() }, inner)
        if (row) await events.record(executionEvent('execution.queued', row), inner)
        return row
      })
      if (row) queued()
      return row
    },

    /**
     * fireMany creates the runs of several tasks' slots in one transaction of two statements (the
     * runs, their `execution.queued` events); a slot that already has its run changes nothing.
     * `trace` is the trace each run joins (its fire job's). A failure fails them all.
     */
    async fireMany (slots: Array<{ task: RunSnapshot, slot: Date, trace: TraceCarrier | null }>): Promise<ExecutionRow[]> {
      const rows = await db.transaction(async (tx) => {
        const rows = await repo.insertMany(slots.map(({ task, slot, trace }) => ({ ...fromTask(task), trigger: 'schedule' as const, slot, ...(trace ? { traceContext: { ...trace } } : {}) })), tx)
        await events.recordMany(rows.map((row) => executionEvent('execution.queued', row)), tx, rows.map((row) => asTraceCarrier(row.traceContext)))
        return rows
      })
      if (rows.length > 0) queued()
      return rows
    },

    /**
     * runNow queues a run of the task for the user. With an Idempotency-Key the same key gives the
     * same run back (`replayed`), whatever the number of retries or concurrent calls; the key used
     * for another task is refused (422).
     */
    async runNow (task: TaskRow, userId: string, idempotencyKey?: string): Promise<{ execution: Execution, replayed: boolean }> {
      if (idempotencyKey !== undefined) {
        if (!/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) throw executionErrors.IDEMPOTENCY_KEY_INVALID()
        const existing = await repo.findByIdempotencyKey(userId, idempotencyKey)
        if (existing) return replay(existing, task)
      }
      const row = await db.transaction(async (tx) => {
        // Counted under a per-task lock: a burst of concurrent requests cannot all pass a count taken before any insert.
        await repo.lockQueue(task.id, tx)
        if ((await repo.countQueued(task.id, tx)) >= MAX_QUEUED_PER_TASK) throw executionErrors.TOO_MANY_QUEUED()
        const row = await repo.insert({ ...fromTask(task), trigger: 'manual', requestedBy: userId, idempotencyKey: idempotencyKey ?? null, ...runTraceContext() }, tx)
        if (row) await events.record(executionEvent('execution.queued', row), tx)
        return row
      })
      if (!row) {
        // A concurrent request with the same key won the insert.
        const existing = idempotencyKey === undefined ? undefined : await repo.findByIdempotencyKey(userId, idempotencyKey)
        if (!existing) throw platformErrors.CONFLICT()
        return replay(existing, task)
      }
      queued()
      return { execution: toExecution(row), replayed: false }
    },

    async list (actor: Actor, query: ExecutionFilter & { limit: number, cursor?: string }) {
      const cursor = cursors.after('executions', query.cursor)
      return cursors.pageOf('executions', await repo.list(await scopeOf(actor), query, query.limit, cursor), query.limit, toExecutionSummary)
    },

    get: async (actor: Actor, id: string): Promise<Execution> => toExecution(await requireExecution(actor, id, 'viewer')),

    /** cancel stops a queued run at once, audited as `context`; a running one is marked cancelled and its agent told so on its next report. */
    async cancel (actor: Actor, id: string, context: AuditContext): Promise<Execution> {
      const before = await requireExecution(actor, id, 'editor')
      const row = await db.transaction(async (tx) => {
        const cancelled = (row: ExecutionRow) => audit.record(context, { action: 'execution.cancelled', outcome: 'success', targetType: 'execution', targetId: row.id, details: { taskId: row.taskId } }, tx)
        const queuedRow = await repo.cancelQueued(id, `cancelled by ${actor.userId}`, tx)
        if (queuedRow) {
          await events.record(endEvent(queuedRow), tx)
          await cancelled(queuedRow)
          return queuedRow
        }
        const running = await repo.finish(id, null, { status: 'cancelled', error: `cancelled by ${actor.userId}`, logMax }, tx)
        if (running) {
          await events.record(endEvent(running), tx)
          await cancelled(running)
        }
        if (running?.agentId && (await repo.runningCount(running.agentId, tx)) === 0) await agents.finishedWork(running.agentId, tx)
        return running
      })
      if (!row) throw executionErrors.EXECUTION_FINISHED(`This execution has already ${before.status === 'succeeded' ? 'succeeded' : 'ended'}`)
      return toExecution(row)
    },

    /** cancelQueuedFor cancels, in the agent's deletion transaction, the queued runs only that agent could have taken. */
    async cancelQueuedFor (agentId: string, tx: Database): Promise<void> {
      for (const row of await repo.cancelQueuedFor(agentId, 'its target agent was deleted', tx)) await events.record(endEvent(row), tx)
    },

    /** claim gives the agent at most one run, waiting up to `waitSeconds` for one to become claimable. */
    async claim (agent: AgentRow, waitSeconds: number, cancelled?: AbortSignal): Promise<Execution | undefined> {
      const deadline = Date.now() + waitSeconds * 1000
      for (;;) {
        if (cancelled?.aborted) return undefined
        const row = await db.transaction(async (tx) => {
          const row = await repo.claim({ id: agent.id, projectId: agent.projectId, labels: agent.labels }, leaseSeconds, tx)
          if (row) {
            await inRunTrace(row, 'claim', async () => {
              await events.record(executionEvent('execution.started', row), tx)
              await agents.startedWork(agent.id, tx)
            })
          }
          return row
        })
        if (row) return toExecution(row)
        const left = deadline - Date.now()
        if (left <= 0 || closing) return undefined
        // Poll at least every second: runs queued on other nodes or becoming due are found within a second.
        await Promise.race([once(wake, 'queued', cancelled ? { signal: cancelled } : {}).catch(() => {}), new Promise((resolve) => setTimeout(resolve, Math.min(1000, left)))])
      }
    },

    /** progress records an agent's report on its running run and extends the lease. */
    async progress (agent: AgentRow, id: string, report: { progress?: number, log?: string }): Promise<Execution> {
      const row = await db.transaction(async (tx) => {
        const row = await repo.report(id, agent.id, leaseSeconds, { ...report, logMax }, tx)
        // Log lines alone are not an event (they can come many times a second); progress is.
        if (row && report.progress !== undefined) await inRunTrace(row, 'progress', () => events.record(executionEvent('execution.progress', row), tx))
        return row
      })
      if (!row) throw await notRunning(agent, id)
      return toExecution(row)
    },

    complete: (agent: AgentRow, id: string, report: { result?: unknown, log?: string }) => end(agent, id, { status: 'succeeded', ...report }),
    fail: (agent: AgentRow, id: string, report: { error: string, result?: unknown, log?: string, retry?: boolean }) => end(agent, id, { status: 'failed', ...report }),

    /** sweep times out runs past their lease or timeout (retrying them by policy) and cancels queued runs of deleted tasks. */
    async sweep (now: Date): Promise<{ timedOut: number, orphaned: number }> {
      const timedOut = await db.transaction(async (tx) => {
        const rows = await repo.expired(now, 100, tx)
        for (const row of rows) {
          const pastTimeout = row.startedAt !== null && row.startedAt.getTime() + row.timeoutSeconds * 1000 < now.getTime()
          const error = pastTimeout ? `ran longer than its timeout of ${row.timeoutSeconds} s` : `its agent stopped reporting for ${leaseSeconds} s (lease expired)`
          const ended = await repo.finish(row.id, null, { status: 'timed_out', error, logMax }, tx)
          if (!ended) continue
          await events.record(endEvent(ended), tx)
          await retryIfAllowed(ended, tx)
          if (ended.agentId && (await repo.runningCount(ended.agentId, tx)) === 0) await agents.finishedWork(ended.agentId, tx)
        }
        return rows.length
      })
      const orphaned = await repo.cancelOrphaned()
      if (timedOut) queued()
      return { timedOut, orphaned }
    },

    /** agentMetrics is an agent's track record: runs, success rate, p50/p95 duration, last seen. */
    async agentMetrics (actor: Actor, agentId: string) {
      const agent = await agents.requireAgent(actor, agentId, 'viewer')
      const m = await repo.agentMetrics(agentId)
      return {
        runs: m.runs,
        succeeded: m.succeeded,
        successRate: m.runs ? m.succeeded / m.runs : null,
        p50DurationMs: m.p50 === null ? null : Math.round(m.p50),
        p95DurationMs: m.p95 === null ? null : Math.round(m.p95),
        running: m.running,
        lastSeenAt: agent.lastSeenAt?.toISOString() ?? null
      }
    },

    /** close ends waiting claims (they answer 204) so the node can shut down. */
    close (): void {
      closing = true
      queued()
    }
  }
}

function replay (existing: ExecutionRow, task: TaskRow): { execution: Execution, replayed: boolean } {
  if (existing.taskId !== task.id) throw executionErrors.IDEMPOTENCY_KEY_REUSED()
  return { execution: toExecution(existing), replayed: true }
}

/** ExecutionsService is the executions module's service. */
export type ExecutionsService = ReturnType<typeof createExecutionsService>
