import { describe, expect, it } from 'vitest'
import { csvCell, toCsv } from './csv.ts'
import { describeSchedule } from './schedule.ts'
import { age } from './format.ts'

describe('describeSchedule', () => {
  it.each([
    ['*/5 * * * *', 'every 5 minutes (UTC)'],
    ['30 2 * * 1-5', 'at 02:30 on Monday to Friday (UTC)'],
    ['0 9,17 * * *', 'at 09:00, 17:00 every day (UTC)'],
    ['15 * * * *', 'every hour at minute 15 (UTC)'],
    ['0 0 1 * *', 'at 00:00 on day 1 of the month (UTC)'],
    ['0 12 * 6 0', 'at 12:00 in June on Sunday (UTC)'],
    ['@hourly', 'every hour, on the hour (UTC)'],
    ['0 */5 * * * *', 'every 5 minutes (UTC)']
  ])('writes %s as "%s"', (cron, words) => {
    expect(describeSchedule(cron, 'UTC')).toBe(words)
  })

  it('says so when there is no schedule, and never guesses an expression it cannot phrase', () => {
    expect(describeSchedule(null)).toBe('no schedule (runs only when started)')
    expect(describeSchedule('5-10/2 3 L * *')).toBe('cron: 5-10/2 3 L * *')
  })

  it('names the time zone', () => {
    expect(describeSchedule('0 8 * * *', 'Europe/Paris')).toBe('at 08:00 every day (Europe/Paris)')
  })
})

describe('CSV export', () => {
  it('quotes commas, quotes and line breaks (RFC 4180) and writes objects as JSON', () => {
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell('two\nlines')).toBe('"two\nlines"')
    expect(csvCell(null)).toBe('')
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"')
  })

  it('defuses spreadsheet formulas in cells (CSV injection)', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"')
    expect(csvCell('+1')).toBe("'+1")
    expect(csvCell('@sum')).toBe("'@sum")
  })

  it('writes a header and one CRLF-terminated line per row', () => {
    expect(toCsv(['action', 'outcome'], [{ action: 'auth.login', outcome: 'success' }])).toBe('action,outcome\r\nauth.login,success\r\n')
  })
})

describe('age', () => {
  it('writes a heartbeat age people read at a glance', () => {
    const now = Date.parse('2026-01-01T12:00:00Z')
    expect(age('2026-01-01T11:59:18Z', now)).toBe('42 s ago')
    expect(age('2026-01-01T11:30:00Z', now)).toBe('30 min ago')
    expect(age(null, now)).toBe('never')
  })
})
