import { join } from 'node:path'
import type { AncestorDir } from './ancestry.ts'
import { readJsonObject } from './read-file.ts'
import type { WorkspaceRoot } from './workspaces.ts'

/**
 * packageVersion is the version of a package the app uses: the installed one when node_modules has
 * it (looked up the way Node resolves, from the app's folder upwards, which also finds packages a
 * monorepo hoisted to its root), else the range package.json declares, with pnpm `catalog:` and
 * `npm:` aliases resolved. Local links (`workspace:`, `file:`, git URLs) give no version.
 */
export async function packageVersion (
  name: string,
  declared: string | undefined,
  chain: AncestorDir[],
  monorepo: WorkspaceRoot | null
): Promise<string | null> {
  for (const dir of chain) {
    if (!dir.dirs.has('node_modules')) continue
    const installed = await readJsonObject(join(dir.abs, 'node_modules', name, 'package.json'))
    if (installed.ok && typeof installed.value.version === 'string') return installed.value.version
  }
  return declared === undefined ? null : declaredVersion(name, declared, monorepo)
}

/** declaredVersion turns a dependency specifier into a version range, or null when it names no version. */
export function declaredVersion (name: string, spec: string, monorepo: WorkspaceRoot | null): string | null {
  const value = spec.trim()
  if (value.startsWith('catalog:')) {
    const catalog = value.slice('catalog:'.length) || 'default'
    const entry = monorepo?.catalogs.get(catalog)?.[name]
    return entry === undefined ? null : declaredVersion(name, entry, null)
  }
  if (value.startsWith('npm:')) {
    const at = value.lastIndexOf('@')
    return at > 'npm:'.length ? value.slice(at + 1) : null
  }
  if (/^(workspace:|file:|link:|portal:|patch:|git|github:|https?:)/.test(value) || value.includes('/')) return null
  return value === '' ? null : value
}
