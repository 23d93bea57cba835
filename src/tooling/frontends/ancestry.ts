import { dirname, join } from 'node:path'
import { toManifest, type PackageManifest } from './manifest.ts'
import { readJsonObject } from './read-file.ts'
import { listDir } from './walk.ts'

/** AncestorDir is a folder at or above an app, with what the detector needs to know about it. */
export interface AncestorDir {
  abs: string
  files: Set<string>
  dirs: Set<string>
  /** manifest is the folder's package.json, or null when it has none or it is unreadable. */
  manifest: PackageManifest | null
}

/**
 * Ancestry answers "which folders hold this app", from the app up to the repository root (the folder
 * with `.git`) or the file-system root: lockfiles, workspace files and installed packages may live in
 * any of them, including above the scanned folder. Each folder is read once per scan.
 */
export class Ancestry {
  private readonly cache = new Map<string, Promise<AncestorDir | null>>()

  /** chain lists the app's folder then each parent, stopping after the repository root. */
  async chain (dir: string): Promise<AncestorDir[]> {
    const out: AncestorDir[] = []
    let current = dir
    for (;;) {
      const info = await this.dir(current)
      if (info !== null) {
        out.push(info)
        if (info.files.has('.git') || info.dirs.has('.git')) break
      }
      const parent = dirname(current)
      if (parent === current) break
      current = parent
    }
    return out
  }

  /** dir reads one folder (cached); `listing` spares a second read of a folder the walk has just listed. */
  dir (abs: string, listing?: { files: Set<string>, dirs: string[] }): Promise<AncestorDir | null> {
    let pending = this.cache.get(abs)
    if (pending === undefined) {
      pending = readAncestor(abs, listing)
      this.cache.set(abs, pending)
    }
    return pending
  }
}

async function readAncestor (abs: string, known?: { files: Set<string>, dirs: string[] }): Promise<AncestorDir | null> {
  const listing = known ?? await listDir(abs)
  if (listing === null) return null
  let manifest: PackageManifest | null = null
  if (listing.files.has('package.json')) {
    const read = await readJsonObject(join(abs, 'package.json'))
    if (read.ok) manifest = toManifest(read.value)
  }
  return { abs, files: listing.files, dirs: new Set(listing.dirs), manifest }
}
