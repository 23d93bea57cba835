import { isAbsolute, relative, resolve } from 'node:path'
import type { DetectionResult } from '../../tooling/frontends/types.ts'
import { canonicalOrigin } from './origin.ts'
import type { FrontendChanges, FrontendInsert } from './repository.ts'
import type { FrontendRow } from './table.ts'

/** SyncDetection is what a sync needs of a scan: its root, the apps found and the folders that could not be read. */
export type SyncDetection = Pick<DetectionResult, 'root' | 'frontends' | 'problems'>

/** SyncAction says what a sync did to one frontend. */
export type SyncAction = 'created' | 'updated' | 'enabled' | 'disabled' | 'unchanged' | 'kept-manual'

/** SyncEntry is one line of a sync's report; `apiKey` is set for created frontends only (shown once). */
export interface SyncEntry {
  /** id is the registry id (set once a created frontend is inserted). */
  id?: string
  name: string
  action: SyncAction
  framework: string | null
  origins: string[]
  path: string | null
  apiKey?: string
  /** create and update are the planned writes; the service applies and then drops them. */
  create?: FrontendInsert
  update?: { id: string, changes: FrontendChanges }
}

/**
 * frontendName turns a package name into a registry name: `@acme/web` → `acme-web`, `my_app` →
 * `my-app` (lowercase letters, digits and dashes: names go into token audiences and channel names).
 */
export function frontendName (packageName: string): string {
  const slug = packageName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, 63).replace(/-+$/, '')
  return slug === '' ? 'app' : slug
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x))

function inside (root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

/**
 * planSync compares a detection with the registry and returns one entry per frontend concerned:
 * what to create or change. A detected frontend keeps the origins an admin added (those not in its
 * last detected set); one no longer found under the scanned root is disabled and marked missing,
 * unless its folder could not be read this time; a missing one that is back is enabled again.
 */
export function planSync (rows: readonly FrontendRow[], detection: SyncDetection, now: Date): SyncEntry[] {
  const root = resolve(detection.root)
  const byName = new Map(rows.map((r) => [r.name, r]))
  const seen = new Set<string>()
  const entries: SyncEntry[] = []

  for (const app of detection.frontends) {
    let name = frontendName(app.name)
    // Two apps of one workspace with the same package name: the later one gets a numbered name.
    for (let n = 2; seen.has(name); n++) name = `${frontendName(app.name).slice(0, 60)}-${n}`
    seen.add(name)
    const path = resolve(root, app.path)
    const detected = [...new Set(app.origins.map(canonicalOrigin).filter((o): o is string => o !== null))]
    const row = byName.get(name)
    const base = { name, framework: app.framework, path }
    if (!row) {
      entries.push({
        ...base,
        action: 'created',
        origins: detected,
        create: { name, framework: app.framework, origins: detected, detectedOrigins: detected, rateTier: 'default', channelNamespace: `frontend:${name}`, enabled: true, source: 'detected', detectedPath: path }
      })
      continue
    }
    if (row.source === 'manual') {
      entries.push({ ...base, id: row.id, action: 'kept-manual', origins: row.origins, path: row.detectedPath })
      continue
    }
    const added = row.origins.filter((o) => !row.detectedOrigins.includes(o))
    const origins = [...new Set([...detected, ...added])]
    const changes: FrontendChanges = {}
    if (!sameSet(origins, row.origins)) changes.origins = origins
    if (!sameSet(detected, row.detectedOrigins)) changes.detectedOrigins = detected
    if (row.framework !== app.framework) changes.framework = app.framework
    if (row.detectedPath !== path) changes.detectedPath = path
    const back = row.missingSince !== null
    if (back) Object.assign(changes, { enabled: true, missingSince: null })
    const changed = Object.keys(changes).length > 0
    entries.push({ ...base, id: row.id, action: back ? 'enabled' : changed ? 'updated' : 'unchanged', origins, ...(changed ? { update: { id: row.id, changes } } : {}) })
  }

  const unreadable = new Set(detection.problems.map((p) => resolve(root, p.path)))
  for (const row of rows) {
    if (row.source !== 'detected' || seen.has(row.name) || row.detectedPath === null || !inside(root, row.detectedPath)) continue
    const entry = { id: row.id, name: row.name, framework: row.framework, origins: row.origins, path: row.detectedPath }
    // Already missing, or disabled by an admin (whose choice stands): nothing to do.
    if (!row.enabled || unreadable.has(row.detectedPath)) {
      entries.push({ ...entry, action: 'unchanged' })
      continue
    }
    entries.push({ ...entry, action: 'disabled', update: { id: row.id, changes: { enabled: false, missingSince: now } } })
  }
  return entries
}
