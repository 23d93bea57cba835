import { canonicalTimezone, checkSchedule, isTimezone, nextRuns } from '../../lib/cron.ts'
import { jsonDepthExceeds } from '../../lib/json-depth.ts'
import type { FieldError } from '../../platform/errors.ts'
import { invalidFields } from './errors.ts'
import type { TaskValues } from './repository.ts'
import type { CreateTaskInput, UpdateTaskInput } from './schemas.ts'
import type { TaskRow } from './table.ts'

/** MAX_PAYLOAD_BYTES bounds a task's payload, serialized (it is copied into every execution). */
export const MAX_PAYLOAD_BYTES = 64 * 1024
/** MAX_PAYLOAD_DEPTH bounds how deep a payload nests, like every JSON body (SECURITY.md RC-03). */
export const MAX_PAYLOAD_DEPTH = 32
/** MIN_INTERVAL_SECONDS is the shortest time between two runs of a schedule (SECURITY.md decision 9). */
export const MIN_INTERVAL_SECONDS = 60

/** RulesDeps is what checking a task's input needs from outside the module. */
export interface RulesDeps {
  /** agentUsable tells whether tasks of the project may target the agent (the agents module answers). */
  agentUsable: (projectId: string, agentId: string) => Promise<boolean>
}

function payloadProblem (payload: unknown): string | undefined {
  if (payload === null) return 'must not be null; send {} for no payload'
  const bytes = Buffer.byteLength(JSON.stringify(payload))
  if (bytes > MAX_PAYLOAD_BYTES) return `is ${bytes} bytes serialized; at most ${MAX_PAYLOAD_BYTES} are allowed`
  if (jsonDepthExceeds(JSON.stringify(payload), MAX_PAYLOAD_DEPTH)) return `nests deeper than ${MAX_PAYLOAD_DEPTH} levels`
  return undefined
}

/** firstRunAfter is a schedule's first run strictly after `now`, or null for a task that is paused or unscheduled. */
export function firstRunAfter (schedule: string | null, timezone: string, enabled: boolean, now: Date): Date | null {
  if (!enabled || schedule === null) return null
  return nextRuns(schedule, timezone, now, 1)[0] ?? null
}

/**
 * resolveTaskInput checks a create (no `current`) or an update of `current` against the task rules
 * the schema cannot express, and returns the columns to write; every refused field is named in one 400.
 * The next run is recomputed only when the schedule, time zone or enabled flag actually change, so an
 * edit of the name never moves (or skips) a slot that is due.
 */
export async function resolveTaskInput (input: CreateTaskInput | UpdateTaskInput, current: TaskRow | undefined, projectId: string, deps: RulesDeps, now: Date): Promise<TaskValues> {
  const errors: FieldError[] = []
  const values: TaskValues = {}
  if (input.name !== undefined) values.name = input.name
  if (input.description !== undefined) values.description = input.description
  if (input.timeoutSeconds !== undefined) values.timeoutSeconds = input.timeoutSeconds
  if (input.retry?.maxAttempts !== undefined) values.maxAttempts = input.retry.maxAttempts
  if (input.retry?.backoffSeconds !== undefined) values.backoffSeconds = input.retry.backoffSeconds

  // A zone is stored as the runtime spells it, so `europe/paris` and `Europe/Paris` are one zone in lists and replies.
  const timezone = (input.timezone === undefined ? undefined : canonicalTimezone(input.timezone)) ?? input.timezone ?? current?.timezone ?? 'UTC'
  const timezoneOk = isTimezone(timezone)
  if (input.timezone !== undefined) {
    if (timezoneOk) values.timezone = timezone
    else errors.push({ path: 'body.timezone', message: 'is not a known IANA time zone (e.g. UTC, Europe/Paris, America/New_York)' })
  }
  const schedule = input.schedule === undefined ? current?.schedule ?? null : input.schedule?.trim() ?? null
  if (input.schedule !== undefined) values.schedule = schedule
  // A new time zone can change the gaps between runs, so the schedule is checked again with it.
  if (schedule !== null && timezoneOk && (input.schedule !== undefined || input.timezone !== undefined)) {
    const reason = checkSchedule(schedule, timezone, MIN_INTERVAL_SECONDS)
    if (reason) errors.push({ path: 'body.schedule', message: reason })
  }
  const enabled = input.enabled ?? current?.enabled ?? true
  if (input.enabled !== undefined) values.enabled = enabled

  if (input.payload !== undefined) {
    const problem = payloadProblem(input.payload)
    if (problem) errors.push({ path: 'body.payload', message: problem })
    else values.payload = input.payload
  }

  if (input.target !== undefined) {
    const { agentId = null, labels = [] } = input.target
    if (agentId !== null && labels.length > 0) {
      errors.push({ path: 'body.target', message: 'give either agentId or labels, not both' })
    } else if (agentId !== null && !(await deps.agentUsable(projectId, agentId))) {
      errors.push({ path: 'body.target.agentId', message: 'is not an agent of this project or a global agent' })
    }
    values.targetAgentId = agentId
    values.targetLabels = labels
  }

  if (errors.length) throw invalidFields(errors)

  const changed = !current ||
    (values.schedule !== undefined && values.schedule !== current.schedule) ||
    (values.timezone !== undefined && values.timezone !== current.timezone) ||
    (values.enabled !== undefined && values.enabled !== current.enabled)
  if (changed) values.nextRunAt = firstRunAfter(schedule, timezone, enabled, now)
  return values
}
