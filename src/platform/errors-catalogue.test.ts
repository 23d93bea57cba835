import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineErrors, platformErrors } from './errors.ts'

const root = join(import.meta.dirname, '..')

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

// The two places an AppError may be made: the catalogue factory, and Fastify's own client errors
// (bad JSON, body too large, bad media type), whose codes are the framework's.
const ALLOWED = new Set([
  'platform/errors.ts: new AppError(code, status, detail ?? title, extra)',
  "platform/errors.ts: new AppError(frameworkCode.replace(/^FST_ERR_CTP_/, '').replace(/^FST_ERR_/, ''), status, fe.message)"
])

describe('error codes come only from catalogues', () => {
  it('no source file makes an AppError with a code of its own (defineErrors in an errors.ts, or platformErrors)', () => {
    const made: string[] = []
    for (const file of sources(root)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/new AppError\(.*$/gm)) {
        made.push(`${relative(root, file)}: ${match[0].trim()}`)
      }
    }
    const adHoc = made.filter((site) => !ALLOWED.has(site))
    expect(adHoc, 'raise codes through a catalogue: add the code to the module\'s errors.ts (or platformErrors)').toEqual([])
    expect(made.length).toBe(ALLOWED.size)
  })

  it('a catalogue factory keeps its code and status, and carries fields, headers and cause', () => {
    const cause = new Error('underneath')
    const errors = defineErrors({ THING_GONE: [410, 'The thing is gone'] })
    const error = errors.THING_GONE('gone since Monday', { fields: [{ path: 'body.x', message: 'is gone' }], headers: { 'retry-after': '1' }, cause })
    expect(error).toMatchObject({ code: 'THING_GONE', status: 410, detail: 'gone since Monday', fields: [{ path: 'body.x', message: 'is gone' }], headers: { 'retry-after': '1' }, cause })
    expect(platformErrors.TIMEOUT()).toMatchObject({ code: 'TIMEOUT', status: 503, detail: 'The operation took too long; retry shortly' })
  })
})
