import { readdir, realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** DEFAULT_MAX_DEPTH is how many folders deep a scan looks below the scanned folder. */
export const DEFAULT_MAX_DEPTH = 6

/**
 * SKIPPED_DIRS are folders that hold installed packages, build output, caches or version control,
 * never an app's own sources: walking them would be slow and would find copies of other apps.
 */
export const SKIPPED_DIRS = new Set([
  'node_modules', 'bower_components', 'jspm_packages', 'dist', 'build', 'out-tsc', 'coverage', 'Pods', 'DerivedData',
  '.git', '.hg', '.svn', '.next', '.nuxt', '.output', '.svelte-kit', '.turbo', '.dart_tool', '.angular',
  '.expo', '.vercel', '.netlify', '.cache', '.parcel-cache', '.yarn', '.pnpm-store', '.gradle', '.idea', '.vscode'
])

/** WalkedDir is one folder the walk entered, with the names of its files and sub-folders. */
export interface WalkedDir {
  abs: string
  /** rel is the path from the scanned folder with forward slashes, '.' for the folder itself. */
  rel: string
  depth: number
  files: Set<string>
  dirs: string[]
}

/** WalkStart is a folder to walk from, with the depth it is counted at. */
export interface WalkStart {
  abs: string
  rel: string
  depth: number
}

/** WalkOptions bounds a walk; visit may name sub-folders of the folder it was given to leave out. */
export interface WalkOptions {
  maxDepth: number
  /** seen holds the real paths already entered: shared between walks so that no folder is entered twice. */
  seen: Set<string>
  visit: (dir: WalkedDir) => Promise<Iterable<string> | undefined>
}

/**
 * walk enters folders breadth first (so the shortest path to a folder is the one reported), in name
 * order (so results are stable), following symbolic links but entering each real folder at most once,
 * which makes link loops harmless. It returns how many folders it entered.
 */
export async function walk (starts: WalkStart[], options: WalkOptions): Promise<number> {
  const queue = [...starts]
  let entered = 0
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    let real: string
    try {
      real = await realpath(next.abs)
    } catch {
      continue
    }
    if (options.seen.has(real)) continue
    options.seen.add(real)
    const listing = await listDir(next.abs)
    if (listing === null) continue
    entered++
    const dir: WalkedDir = { ...next, ...listing }
    const leaveOut = new Set(await options.visit(dir) ?? [])
    if (next.depth >= options.maxDepth) continue
    for (const name of listing.dirs) {
      if (leaveOut.has(name) || isSkippedDir(name)) continue
      queue.push({ abs: join(next.abs, name), rel: next.rel === '.' ? name : `${next.rel}/${name}`, depth: next.depth + 1 })
    }
  }
  return entered
}

/** isSkippedDir tells the folders no app lives in: known output and tool folders, and hidden ones. */
export function isSkippedDir (name: string): boolean {
  return SKIPPED_DIRS.has(name) || name.startsWith('.')
}

/** listDir reads a folder's file and sub-folder names (links resolved to what they point at), or null if unreadable. */
export async function listDir (abs: string): Promise<{ files: Set<string>, dirs: string[] } | null> {
  let entries
  try {
    entries = await readdir(abs, { withFileTypes: true })
  } catch {
    return null
  }
  const files = new Set<string>()
  const dirs: string[] = []
  for (const entry of entries) {
    if (entry.isDirectory()) {
      dirs.push(entry.name)
    } else if (entry.isFile()) {
      files.add(entry.name)
    } else if (entry.isSymbolicLink()) {
      // A dangling link points at nothing: it is neither a file nor a folder.
      const target = await stat(join(abs, entry.name)).catch(() => null)
      if (target?.isDirectory() === true) dirs.push(entry.name)
      else if (target?.isFile() === true) files.add(entry.name)
    }
  }
  dirs.sort()
  return { files, dirs }
}
