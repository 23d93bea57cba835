import type { AncestorDir } from './ancestry.ts'
import type { PackageManagerId } from './types.ts'

/** LOCKFILES maps each lockfile to the package manager that writes it, in the order they are trusted. */
export const LOCKFILES: Array<[string, PackageManagerId]> = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm']
]

/**
 * detectPackageManager walks up from the app: in each folder the `packageManager` field of
 * package.json (Corepack's, e.g. "pnpm@9.12.0") wins over a lockfile, and the nearest folder with
 * either decides. A monorepo's lockfile sits at its root, which is why the search goes up.
 */
export function detectPackageManager (chain: AncestorDir[]): PackageManagerId | null {
  for (const dir of chain) {
    const declared = fromPackageManagerField(dir.manifest?.packageManager ?? null)
    if (declared !== null) return declared
    for (const [file, manager] of LOCKFILES) {
      if (dir.files.has(file)) return manager
    }
  }
  return null
}

/** fromPackageManagerField reads the tool name of a Corepack `packageManager` value. */
export function fromPackageManagerField (value: string | null): PackageManagerId | null {
  const name = value?.trim().split('@')[0]
  return name === 'npm' || name === 'pnpm' || name === 'yarn' || name === 'bun' ? name : null
}
