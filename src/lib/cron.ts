import { Cron, CronPattern, type CronOptions } from 'croner'

/**
 * Cron schedules, read with croner the same way everywhere (validation, the `nextRuns` preview and
 * the scheduler), so what a user is shown is what runs.
 *
 * Semantics chosen here:
 * - 5 fields (minute hour day-of-month month day-of-week), or 6 with a leading seconds field. No
 *   year field. Nicknames `@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`;
 *   `@reboot` means nothing to a server-side scheduler and is refused.
 * - Day-of-month and day-of-week: a day matches when either does (Vixie cron); prefix the
 *   day-of-week with `+` to require both. croner's `L`, `W` and `#` are accepted.
 * - Daylight-saving time (croner's `fixedTimeRule: 'no-wildcard'`, the Vixie cron rule): a job whose
 *   second, minute and hour fields have no `*` and no step (`30 2 * * *`, `0 9,17 * * *`) is a
 *   wall-clock job: a time that happens twice (fall back) runs once, at its first occurrence, and a
 *   time that does not exist (spring forward) runs once, at the end of the gap (03:00 for 02:30 in
 *   New York). A job with `*` or a step (`*\/15 * * * *`) is an interval job: it keeps its real-time
 *   rhythm, so it runs through both passes of a repeated hour and skips the times in a gap.
 */

const MAX_LENGTH = 200
const DAY_MS = 86_400_000
const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *'
}
const FIVE = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const
const SIX = ['second', ...FIVE] as const
const RANGES: Record<string, string> = {
  second: '0-59',
  minute: '0-59',
  hour: '0-23',
  'day-of-month': '1-31',
  month: '1-12 (or JAN-DEC)',
  'day-of-week': '0-7 (or SUN-SAT)'
}
const FIELD_HELP = 'expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field'

function options (timezone: string): CronOptions {
  return { timezone, paused: true, mode: '5-or-6-parts', fixedTimeRule: 'no-wildcard', domAndDow: false }
}

function expand (expr: string): string {
  const trimmed = expr.trim()
  return NICKNAMES[trimmed.toLowerCase()] ?? trimmed
}

const zoneCache = new Map<string, boolean>()

/** isTimezone tells whether `tz` is an IANA time zone name this runtime knows (Intl). */
export function isTimezone (tz: string): boolean {
  // Intl also takes offsets such as "+01:00"; a stored zone must be a name (DST rules follow it).
  if (typeof tz !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(tz)) return false
  const known = zoneCache.get(tz)
  if (known !== undefined) return known
  let ok = true
  try {
    // eslint-disable-next-line no-new
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
  } catch {
    ok = false
  }
  if (zoneCache.size < 1000) zoneCache.set(tz, ok)
  return ok
}

/** canonicalTimezone is a known zone with the letter case of its IANA name (`europe/paris` → `Europe/Paris`), or undefined for an unknown one. */
export function canonicalTimezone (tz: string): string | undefined {
  if (!isTimezone(tz)) return undefined
  // ICU also maps current names to old aliases (Asia/Kolkata → Asia/Calcutta): only the case is taken from it.
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone
  return resolved.toLowerCase() === tz.toLowerCase() ? resolved : tz
}

/** nextRuns returns the next `count` run times strictly after `after`, in `timezone`. */
export function nextRuns (expr: string, timezone: string, after: Date, count: number): Date[] {
  if (count <= 0) return []
  return new Cron(expand(expr), options(timezone)).nextRuns(count, after)
}

function describeParseError (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.replace(/^CronPattern:\s*/, '').replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase())
}

function shown (value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value
}

// Each field is parsed alone (the others `*`), so the reason names the field that is wrong.
function checkFields (fields: string[]): string | undefined {
  const names = fields.length === 6 ? SIX : FIVE
  for (let i = 0; i < fields.length; i++) {
    const probe = fields.map((f, j) => (j === i ? f : '*')).join(' ')
    const name = names[i]!
    const value = shown(fields[i]!)
    try {
      // eslint-disable-next-line no-new
      new CronPattern(probe, undefined, { mode: '5-or-6-parts' })
    } catch (err) {
      if (err instanceof RangeError) return `the ${name} field '${value}' is out of range ${RANGES[name]}`
      return `the ${name} field '${value}' is not valid: ${describeParseError(err)}`
    }
  }
  return undefined
}

function checkSyntax (expr: string): { fields: string[] } | { reason: string } {
  if (expr.trim() === '') return { reason: 'the schedule is empty' }
  if (expr.length > MAX_LENGTH) return { reason: `the schedule is longer than ${MAX_LENGTH} characters` }
  if (/[^\x20-\x7e]/.test(expr)) return { reason: 'the schedule may only contain printable ASCII characters and spaces' }
  const trimmed = expr.trim()
  if (trimmed.startsWith('@')) {
    if (NICKNAMES[trimmed.toLowerCase()] !== undefined) return { fields: expand(trimmed).split(' ') }
    return { reason: `'${shown(trimmed)}' is not supported; use a cron expression or one of @hourly, @daily, @weekly, @monthly, @yearly` }
  }
  const fields = trimmed.split(/ +/)
  if (fields.length === 7) return { reason: `the schedule has 7 fields but a year field is not supported; ${FIELD_HELP}` }
  // Six fields read as seconds first, so a trailing year would be blamed on day-of-week: say what it is.
  if (fields.length === 6 && /^\d{4}$/.test(fields[5]!)) return { reason: `the last field '${fields[5]}' looks like a year, which is not supported; ${FIELD_HELP}` }
  if (fields.length !== 5 && fields.length !== 6) return { reason: `the schedule has ${fields.length} field${fields.length === 1 ? '' : 's'}; ${FIELD_HELP}` }
  return { fields }
}

// The times of day (seconds since midnight, ascending) the second, minute and hour fields allow.
function timesOfDay (pattern: CronPattern): number[] {
  const times: number[] = []
  pattern.hour.forEach((h, hour) => {
    if (!h) return
    pattern.minute.forEach((m, minute) => {
      if (!m) return
      pattern.second.forEach((s, second) => { if (s) times.push(hour * 3600 + minute * 60 + second) })
    })
  })
  return times
}

function smallestGap (runs: Date[]): number {
  let gap = Infinity
  for (let i = 1; i < runs.length; i++) gap = Math.min(gap, (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 1000)
  return gap
}

function offsetOf (format: Intl.DateTimeFormat, at: Date): string {
  return format.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? ''
}

// Days (in the coming ~13 months) on which the zone's UTC offset changes.
function offsetChanges (timezone: string, from: Date): Date[] {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' })
  const changes: Date[] = []
  let previous = offsetOf(format, from)
  for (let day = 1; day <= 400; day++) {
    const at = new Date(from.getTime() + day * DAY_MS)
    const offset = offsetOf(format, at)
    if (offset !== previous) changes.push(at)
    previous = offset
  }
  return changes
}

/**
 * The gaps a day's pattern does not show: across midnight between two matching days, and around
 * daylight-saving changes (an interval job runs through a repeated hour twice). Only needed when
 * the minimum is above a minute or several seconds are allowed: otherwise every run falls on the
 * same second of a whole minute (UTC offsets are whole minutes), so runs are at least 60 s apart.
 */
function unusualGap (cron: Cron, fields: string[], timezone: string, times: number[], min: number, now: Date): { gap: number, where: string } | undefined {
  let found: { gap: number, where: string } | undefined
  const consider = (gap: number, where: string) => { if (!found || gap < found.gap) found = { gap, where } }
  const acrossMidnight = DAY_MS / 1000 - times.at(-1)! + times[0]!
  if (acrossMidnight < min) {
    // Only a problem if two matching days can follow each other: look at the next ~3 years of days.
    const days = new Cron(`0 0 0 ${fields.slice(-3).join(' ')}`, { ...options('UTC'), mode: '6-part' }).nextRuns(1000, now)
    if (days.some((d, i) => i > 0 && d.getTime() - days[i - 1]!.getTime() === DAY_MS)) consider(acrossMidnight, ' across midnight')
  }
  for (const change of offsetChanges(timezone, now)) {
    // The change happened during the day before `change`; look a little either side of that day.
    const start = new Date(change.getTime() - DAY_MS - 2 * 3_600_000)
    const end = change.getTime() + 2 * 3_600_000
    consider(smallestGap(cron.nextRuns(3000, start).filter((d) => d.getTime() <= end)), ' around a daylight-saving change')
  }
  return found
}

function smallestTimeGap (times: number[]): number {
  let gap = Infinity
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i]! - times[i - 1]!)
  return gap
}

/** checkSchedule returns undefined when `expr` is a valid 5-field (or 6-field with seconds) cron expression whose runs are at least `minIntervalSeconds` apart in `timezone`, otherwise a one-line reason naming what is wrong (e.g. "the minute field '61' is out of range 0-59", "runs every 10 s; the minimum interval is 60 s"). */
export function checkSchedule (expr: string, timezone: string, minIntervalSeconds = 60): string | undefined {
  if (typeof expr !== 'string') return 'the schedule must be a string'
  if (!isTimezone(timezone)) return `'${shown(String(timezone))}' is not a known IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`
  const syntax = checkSyntax(expr)
  if ('reason' in syntax) return syntax.reason
  const fieldReason = checkFields(syntax.fields)
  if (fieldReason) return fieldReason
  let cron: Cron
  let pattern: CronPattern
  try {
    const text = syntax.fields.join(' ')
    cron = new Cron(text, options(timezone))
    pattern = new CronPattern(text, timezone, { mode: '5-or-6-parts' })
  } catch (err) {
    return `the schedule is not valid: ${describeParseError(err)}`
  }
  const now = new Date()
  if (cron.nextRuns(1, now).length === 0) return 'the schedule never runs: no date matches its day-of-month, month and day-of-week fields'
  const times = timesOfDay(pattern)
  const withinDay = smallestTimeGap(times)
  if (withinDay < minIntervalSeconds) return `runs every ${withinDay} s; the minimum interval is ${minIntervalSeconds} s`
  const oneSecondValue = pattern.second.filter(Boolean).length === 1
  if (minIntervalSeconds <= 60 && oneSecondValue) return undefined
  const unusual = unusualGap(cron, syntax.fields, timezone, times, minIntervalSeconds, now)
  if (unusual && unusual.gap < minIntervalSeconds) return `runs only ${unusual.gap} s apart${unusual.where}; the minimum interval is ${minIntervalSeconds} s`
  return undefined
}
