import { isAbsolute, relative, sep } from 'node:path'
import type { SyncAction, SyncEntry } from './sync.ts'

const HEADERS = ['NAME', 'ACTION', 'FRAMEWORK', 'ORIGINS', 'PATH']
const ORDER: SyncAction[] = ['created', 'updated', 'enabled', 'disabled', 'unchanged', 'kept-manual']

/** syncChanged tells whether a sync wrote anything (watch mode prints only those). */
export function syncChanged (entries: readonly SyncEntry[]): boolean {
  return entries.some((e) => e.action !== 'unchanged' && e.action !== 'kept-manual')
}

function shownPath (root: string, path: string | null): string {
  if (path === null) return '-'
  const rel = relative(root, path)
  if (rel === '') return '.'
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/')
}

/**
 * formatSync writes a sync for people: one row per frontend (name, what the sync did, framework,
 * origins, folder), a count per action, then the keys of the frontends it created, shown this once.
 */
export function formatSync (entries: readonly SyncEntry[], root: string): string {
  if (entries.length === 0) return `No frontend apps found in ${root}; the registry is unchanged.\n`
  const rows = entries.map((e) => [e.name, e.action, e.framework ?? '-', e.origins.length === 0 ? '-' : e.origins.join(', '), shownPath(root, e.path)])
  const widths = HEADERS.map((_, c) => Math.max(...[HEADERS, ...rows].map((row) => (row[c] ?? '').length)))
  const lines = [HEADERS, ...rows].map((row) => row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd())
  const counts = ORDER.map((action) => [action, entries.filter((e) => e.action === action).length] as const).filter(([, n]) => n > 0)
  lines.push('', counts.map(([action, n]) => `${n} ${action}`).join(', ') + '.')
  const keys = entries.filter((e) => e.apiKey !== undefined)
  if (keys.length > 0) {
    lines.push('', 'Keys of the new frontends, shown this once. Each app sends its key as X-Frontend-Key; it is a public client id', '(it ships in the app and grants no permission by itself). Rotate one with POST /api/v1/admin/frontends/:id/rotate-key.')
    for (const e of keys) lines.push(`  ${e.name.padEnd(Math.max(...keys.map((k) => k.name.length)))}  ${e.apiKey}`)
  }
  return lines.join('\n') + '\n'
}
