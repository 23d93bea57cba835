import { nextRuns } from '../../lib/cron.ts'
import type { Task } from './schemas.ts'
import type { TaskRow } from './table.ts'

/** PREVIEW_RUNS is how many coming runs a task reply lists. */
export const PREVIEW_RUNS = 5

// The pending slot first (it may be due and not fired yet), then the runs after it.
function upcoming (row: TaskRow): string[] {
  if (!row.enabled || row.schedule === null || row.nextRunAt === null) return []
  try {
    return [row.nextRunAt, ...nextRuns(row.schedule, row.timezone, row.nextRunAt, PREVIEW_RUNS - 1)].map((d) => d.toISOString())
  } catch {
    // A schedule this runtime can no longer read (the scheduler pauses such a task) has no preview.
    return []
  }
}

/** toTask is the only way a stored task leaves the module. */
export function toTask (row: TaskRow): Task {
  return {
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    description: row.description,
    schedule: row.schedule,
    timezone: row.timezone,
    enabled: row.enabled,
    payload: row.payload,
    target: { agentId: row.targetAgentId, labels: row.targetLabels },
    timeoutSeconds: row.timeoutSeconds,
    retry: { maxAttempts: row.maxAttempts, backoffSeconds: row.backoffSeconds },
    nextRunAt: row.nextRunAt?.toISOString() ?? null,
    nextRuns: upcoming(row),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}
