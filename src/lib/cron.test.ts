import { describe, expect, it } from 'vitest'
import { canonicalTimezone, checkSchedule, isTimezone, nextRuns } from './cron.ts'

const iso = (dates: Date[]) => dates.map((d) => d.toISOString())

describe('checkSchedule: fields', () => {
  it.each([
    ['0 * * * *'],
    ['*/5 * * * *'],
    ['0 */5 * * * *'],
    ['30 0 9 * * 1-5'],
    ['0 9,17 * * MON-FRI'],
    ['0 0 L * *'],
    ['0 0 * * 5#L'],
    ['0 12 1 * +MON'],
    ['  15   3 * * *  '],
    ['@hourly'],
    ['@daily'],
    ['@WEEKLY'],
    ['@monthly'],
    ['@yearly']
  ])('accepts %j', (expr) => {
    expect(checkSchedule(expr, 'UTC')).toBeUndefined()
  })

  it.each([
    ['61 * * * *', "the minute field '61' is out of range 0-59"],
    ['* 24 * * *', "the hour field '24' is out of range 0-23"],
    ['0 0 32 * *', "the day-of-month field '32' is out of range 1-31"],
    ['0 0 0 * *', "the day-of-month field '0' is out of range 1-31"],
    ['0 0 1 13 *', "the month field '13' is out of range 1-12 (or JAN-DEC)"],
    ['0 0 * * 8', "the day-of-week field '8' is out of range 0-7 (or SUN-SAT)"],
    ['60 0 * * * *', "the second field '60' is out of range 0-59"],
    ['0 60 * * * *', "the minute field '60' is out of range 0-59"]
  ])('names the out-of-range field in %j', (expr, reason) => {
    expect(checkSchedule(expr, 'UTC')).toBe(reason)
  })

  it.each([
    ['a * * * *', /^the minute field 'a' is not valid: /],
    ['0 x * * *', /^the hour field 'x' is not valid: /],
    ['*/0 * * * *', /^the minute field '\*\/0' is not valid: .*stepping/],
    ['5-1 * * * *', /^the minute field '5-1' is not valid: /],
    ['0 0 * FOO *', /^the month field 'FOO' is not valid: /],
    ['0 0 * * FUNDAY', /^the day-of-week field 'FUNDAY' is not valid: /],
    ['1/5 * * * *', /^the minute field '1\/5' is not valid: /],
    ['0 L * * *', /^the hour field 'L' is not valid: /]
  ])('names the malformed field in %j', (expr, reason) => {
    expect(checkSchedule(expr, 'UTC')).toMatch(reason)
  })

  it.each([
    ['', 'the schedule is empty'],
    ['   ', 'the schedule is empty'],
    ['* * * *', 'the schedule has 4 fields; expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field'],
    ['*', 'the schedule has 1 field; expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field'],
    ['0 0 1 1 * 2030', "the last field '2030' looks like a year, which is not supported; expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field"],
    ['0 0 0 1 1 * 2030', 'the schedule has 7 fields but a year field is not supported; expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field'],
    ['@reboot', "'@reboot' is not supported; use a cron expression or one of @hourly, @daily, @weekly, @monthly, @yearly"],
    ['@every_minute', "'@every_minute' is not supported; use a cron expression or one of @hourly, @daily, @weekly, @monthly, @yearly"],
    [`0 0 * * ${'1,'.repeat(100)}1`, 'the schedule is longer than 200 characters'],
    ['0\t0 * * *', 'the schedule may only contain printable ASCII characters and spaces'],
    ['0 0 30 2 *', 'the schedule never runs: no date matches its day-of-month, month and day-of-week fields'],
    ['0 0 31 4,6,9,11 *', 'the schedule never runs: no date matches its day-of-month, month and day-of-week fields']
  ])('refuses %j', (expr, reason) => {
    expect(checkSchedule(expr, 'UTC')).toBe(reason)
  })
})

describe('checkSchedule: minimum interval', () => {
  it.each([
    ['* * * * * *', 'runs every 1 s; the minimum interval is 60 s'],
    ['*/10 * * * * *', 'runs every 10 s; the minimum interval is 60 s'],
    ['*/30 * * * * *', 'runs every 30 s; the minimum interval is 60 s'],
    ['0,30 * * * * *', 'runs every 30 s; the minimum interval is 60 s'],
    // Two runs a minute apart only once an hour: still closer than the minimum.
    ['0,59 0 * * * *', 'runs every 59 s; the minimum interval is 60 s'],
    ['0,1 0 0 1 1 *', 'runs every 1 s; the minimum interval is 60 s']
  ])('refuses %j', (expr, reason) => {
    expect(checkSchedule(expr, 'Europe/Paris')).toBe(reason)
  })

  it.each(['* * * * *', '0 * * * * *', '0 */5 * * * *', '0 * * * *', '59 * * * * *'])('accepts %j (a minute apart or more)', (expr) => {
    expect(checkSchedule(expr, 'America/New_York')).toBeUndefined()
  })

  it('applies a larger minimum', () => {
    expect(checkSchedule('*/5 * * * *', 'UTC', 3600)).toBe('runs every 300 s; the minimum interval is 3600 s')
    expect(checkSchedule('0 * * * *', 'UTC', 3600)).toBeUndefined()
  })

  it('finds a gap that only happens across midnight between two matching days', () => {
    // 23:00 then 00:00 the next day is an hour, though within a day the runs are 23 h apart.
    expect(checkSchedule('0 0,23 * * *', 'UTC', 7200)).toBe('runs only 3600 s apart across midnight; the minimum interval is 7200 s')
    // Days that never follow each other (the 1st and the 15th) do not make that gap.
    expect(checkSchedule('0 0,23 1,15 * *', 'UTC', 7200)).toBeUndefined()
  })

  it('finds a gap that only happens on the day clocks go back', () => {
    // `*/25 1 * * *` runs 01:00, 01:25, 01:50; in New York 01:00-01:59 happens twice on the
    // fall-back day, and an interval job runs through both passes: 01:50 EDT → 01:00 EST is 10 min.
    expect(checkSchedule('*/25 1 * * *', 'UTC', 1200)).toBeUndefined()
    expect(checkSchedule('*/25 1 * * *', 'America/New_York', 1200)).toBe('runs only 600 s apart around a daylight-saving change; the minimum interval is 1200 s')
  })
})

describe('time zones', () => {
  it.each(['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Etc/GMT+5'])('knows %s', (tz) => {
    expect(isTimezone(tz)).toBe(true)
    expect(checkSchedule('0 9 * * *', tz)).toBeUndefined()
  })

  it.each(['Mars/Olympus', '', '+01:00', 'Europe/Paris; DROP', 'x'.repeat(100), 'Z'])('refuses %j', (tz) => {
    expect(isTimezone(tz)).toBe(false)
    expect(checkSchedule('0 9 * * *', tz)).toMatch(/is not a known IANA time zone/)
  })

  it('spells a zone with its IANA letter case, and keeps current names ICU aliases to old ones', () => {
    expect(canonicalTimezone('europe/paris')).toBe('Europe/Paris')
    expect(canonicalTimezone('UTC')).toBe('UTC')
    expect(canonicalTimezone('Asia/Kolkata')).toBe('Asia/Kolkata')
    expect(canonicalTimezone('Europe/Kyiv')).toBe('Europe/Kyiv')
    expect(canonicalTimezone('Mars/Olympus')).toBeUndefined()
  })

  it('computes runs in the task time zone', () => {
    const after = new Date('2026-01-15T12:00:00Z')
    expect(iso(nextRuns('0 9 * * *', 'Europe/Paris', after, 2))).toEqual(['2026-01-16T08:00:00.000Z', '2026-01-17T08:00:00.000Z'])
    expect(iso(nextRuns('0 9 * * *', 'America/New_York', after, 2))).toEqual(['2026-01-15T14:00:00.000Z', '2026-01-16T14:00:00.000Z'])
    // Summer time in Paris: 09:00 is 07:00 UTC.
    expect(iso(nextRuns('0 9 * * *', 'Europe/Paris', new Date('2026-07-01T00:00:00Z'), 1))).toEqual(['2026-07-01T07:00:00.000Z'])
  })

  it('returns runs strictly after the given time', () => {
    expect(iso(nextRuns('0 * * * *', 'UTC', new Date('2026-01-01T10:00:00.000Z'), 2))).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T12:00:00.000Z'])
    expect(iso(nextRuns('0 * * * *', 'UTC', new Date('2026-01-01T09:59:59.999Z'), 1))).toEqual(['2026-01-01T10:00:00.000Z'])
    expect(iso(nextRuns('@hourly', 'UTC', new Date('2026-01-01T10:00:00.001Z'), 1))).toEqual(['2026-01-01T11:00:00.000Z'])
    expect(nextRuns('0 * * * *', 'UTC', new Date(), 0)).toEqual([])
  })
})

// In America/New_York in 2026, clocks spring forward on 8 March (02:00 EST → 03:00 EDT) and fall
// back on 1 November (02:00 EDT → 01:00 EST).
describe('daylight-saving time (America/New_York)', () => {
  const tz = 'America/New_York'

  it('spring forward: a 02:30 job (a time that does not exist that day) runs once, at 03:00 EDT', () => {
    const runs = nextRuns('30 2 * * *', tz, new Date('2026-03-07T12:00:00Z'), 3)
    expect(iso(runs)).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT, when the gap ends
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z'
    ])
  })

  it('fall back: a 01:30 job (a time that happens twice) runs once, at the first 01:30', () => {
    const runs = nextRuns('30 1 * * *', tz, new Date('2026-10-31T12:00:00Z'), 3)
    expect(iso(runs)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; not again at 01:30 EST (06:30Z)
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z'
    ])
  })

  it('fall back: a 02:30 job runs once (02:30 happens once, in EST)', () => {
    expect(iso(nextRuns('30 2 * * *', tz, new Date('2026-10-31T12:00:00Z'), 2))).toEqual(['2026-11-01T07:30:00.000Z', '2026-11-02T07:30:00.000Z'])
  })

  it('fall back: a list of fixed times does not double-fire either', () => {
    expect(iso(nextRuns('30 1,13 * * *', tz, new Date('2026-10-31T12:00:00Z'), 4))).toEqual([
      '2026-10-31T17:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T18:30:00.000Z',
      '2026-11-02T06:30:00.000Z'
    ])
  })

  it('fall back: a job stepping from the time the previous run fired never goes backwards or repeats', () => {
    // What the scheduler does: each next run is computed strictly after the slot it just fired.
    let at = new Date('2026-10-31T12:00:00Z')
    const fired: string[] = []
    for (let i = 0; i < 4; i++) {
      const [next] = nextRuns('30 1 * * *', tz, at, 1)
      fired.push(next!.toISOString())
      at = next!
    }
    expect(new Set(fired).size).toBe(4)
    expect(fired.filter((f) => f.startsWith('2026-11-01'))).toEqual(['2026-11-01T05:30:00.000Z'])
  })

  it('an interval job keeps its real-time rhythm through the repeated hour', () => {
    const runs = nextRuns('0 * * * *', tz, new Date('2026-11-01T04:30:00Z'), 4)
    // 01:00 EDT, 01:00 EST, 02:00 EST, 03:00 EST: one run every hour of real time.
    expect(iso(runs)).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T08:00:00.000Z'])
  })

  it('an interval job skips the times that do not exist on spring-forward day', () => {
    const runs = nextRuns('*/30 * * * *', tz, new Date('2026-03-08T06:15:00Z'), 3)
    // 01:30 EST, then 03:00 EDT: 02:00 and 02:30 never happen.
    expect(iso(runs)).toEqual(['2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z'])
  })
})
