const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const NICK: Record<string, string> = {
  '@yearly': 'once a year, on 1 January at 00:00',
  '@annually': 'once a year, on 1 January at 00:00',
  '@monthly': 'on the 1st of every month at 00:00',
  '@weekly': 'every Sunday at 00:00',
  '@daily': 'every day at 00:00',
  '@midnight': 'every day at 00:00',
  '@hourly': 'every hour, on the hour'
}

const pad = (n: string) => n.padStart(2, '0')
const isNum = (s: string) => /^\d+$/.test(s)

function list (field: string, names?: string[]): string {
  return field.split(',').map((part) => {
    const [a = '', b] = part.split('-')
    const name = (v: string) => (names !== undefined && isNum(v) ? (names[Number(v) % names.length] ?? v) : v)
    return b === undefined ? name(a) : `${name(a)} to ${name(b)}`
  }).join(', ')
}

/**
 * describeSchedule writes a cron expression in words ("every 5 minutes", "at 09:30 on Monday to
 * Friday"); an expression it cannot phrase is returned as "cron: <expression>", never guessed.
 */
export function describeSchedule (schedule: string | null, timezone = 'UTC'): string {
  if (schedule === null || schedule.trim() === '') return 'no schedule (runs only when started)'
  const expr = schedule.trim()
  const nick = NICK[expr.toLowerCase()]
  if (nick !== undefined) return `${nick} (${timezone})`
  const parts = expr.split(/\s+/)
  if (parts.length === 6) parts.shift()
  if (parts.length !== 5) return `cron: ${expr}`
  const [min = '', hour = '', dom = '', mon = '', dow = ''] = parts
  let time: string
  const step = (f: string) => /^\*\/(\d+)$/.exec(f)?.[1]
  if (min === '*' && hour === '*') time = 'every minute'
  else if (step(min) !== undefined && hour === '*') time = `every ${step(min)} minutes`
  else if (isNum(min) && hour === '*') time = `every hour at minute ${min}`
  else if (isNum(min) && step(hour) !== undefined) time = `every ${step(hour)} hours at minute ${min}`
  else if (isNum(min) && /^[\d,]+$/.test(hour)) time = `at ${hour.split(',').map((h) => `${pad(h)}:${pad(min)}`).join(', ')}`
  else return `cron: ${expr}`
  const days: string[] = []
  if (dom !== '*' && dom !== '?') days.push(`on day ${list(dom)} of the month`)
  if (mon !== '*') days.push(`in ${list(mon, ['', ...MONTHS])}`)
  if (dow !== '*' && dow !== '?') days.push(`on ${list(dow, DAYS)}`)
  if (days.length === 0 && !time.startsWith('every')) days.push('every day')
  return `${[time, ...days].join(' ')} (${timezone})`
}
