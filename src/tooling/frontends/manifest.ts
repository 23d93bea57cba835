import { isRecord, stringRecord } from './read-file.ts'

/** PackageManifest is the part of a package.json the detector uses, with malformed fields left empty. */
export interface PackageManifest {
  name: string | null
  /** dependencies merges dependencies and devDependencies: an app may list its framework in either. */
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
  scripts: Record<string, string>
  packageManager: string | null
  /** workspaces are the package globs of npm, yarn and bun workspaces (array or `{ packages }` form). */
  workspaces: string[]
}

/** toManifest reads a parsed package.json, tolerating any field of the wrong type. */
export function toManifest (value: Record<string, unknown>): PackageManifest {
  const workspaces = Array.isArray(value.workspaces)
    ? value.workspaces
    : isRecord(value.workspaces) && Array.isArray(value.workspaces.packages) ? value.workspaces.packages : []
  return {
    name: typeof value.name === 'string' && value.name.trim() !== '' ? value.name : null,
    dependencies: { ...stringRecord(value.devDependencies), ...stringRecord(value.dependencies) },
    peerDependencies: stringRecord(value.peerDependencies),
    scripts: stringRecord(value.scripts),
    packageManager: typeof value.packageManager === 'string' ? value.packageManager : null,
    workspaces: workspaces.filter((w): w is string => typeof w === 'string')
  }
}
