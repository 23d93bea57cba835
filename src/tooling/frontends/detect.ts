import { stat } from 'node:fs/promises'
import { basename, relative, resolve, sep } from 'node:path'
import { Ancestry, type AncestorDir } from './ancestry.ts'
import { inspectFolder, type InspectTools } from './inspect.ts'
import type { DetectedFrontend, DetectionProblem, DetectionResult, DetectOptions } from './types.ts'
import { DEFAULT_MAX_DEPTH, isSkippedDir, listDir, walk, type WalkedDir } from './walk.ts'
import { memberFolders, readWorkspaceRoot, type WorkspaceProblem, type WorkspaceRoot } from './workspaces.ts'

export type { DetectedFrontend, DetectionProblem, DetectionResult, DetectOptions, FrameworkId, MonorepoKind, PackageManagerId } from './types.ts'

/** DetectionDirError is a scan asked of a folder that does not exist or is not a folder. */
export class DetectionDirError extends Error {
  override name = 'DetectionDirError'
}

/**
 * detectFrontends walks a workspace and describes each frontend app in it: framework and version,
 * bundler, package manager, dev origins, language and monorepo. It reads files and never runs them,
 * writes nothing, and a file it cannot read is reported in `problems` without stopping the scan.
 * It is a pure function of the files on disk, so `frontends sync` and `--watch` can call it again.
 */
export async function detectFrontends (dir: string, options: DetectOptions = {}): Promise<DetectionResult> {
  const root = resolve(dir)
  const rootStat = await stat(root).catch(() => null)
  if (rootStat === null) throw new DetectionDirError(`directory not found: ${dir}`)
  if (!rootStat.isDirectory()) throw new DetectionDirError(`not a directory: ${dir}`)
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new RangeError('maxDepth must be a whole number of folders, 0 or more')

  const ancestry = new Ancestry()
  const roots = new Map<string, Promise<WorkspaceRoot | null>>()
  const workspaceProblems: WorkspaceProblem[] = []
  const tools: InspectTools = {
    rootName: basename(root),
    ancestry,
    workspaceRoot: (d: AncestorDir) => {
      let pending = roots.get(d.abs)
      if (pending === undefined) {
        pending = readWorkspaceRoot(d, workspaceProblems)
        roots.set(d.abs, pending)
      }
      return pending
    }
  }
  const frontends: DetectedFrontend[] = []
  const problems: DetectionProblem[] = []
  const monorepoRoots: WorkspaceRoot[] = []
  let scannedDirs = 0

  const visit = async (d: WalkedDir): Promise<string[]> => {
    scannedDirs++
    options.onProgress?.(scannedDirs, d.rel)
    const self = await ancestry.dir(d.abs, d)
    const workspace = self === null ? null : await tools.workspaceRoot(self)
    if (workspace !== null) monorepoRoots.push(workspace)
    try {
      const found = await inspectFolder(d, tools)
      problems.push(...found.problems)
      if (found.frontend !== null) frontends.push(found.frontend)
      return found.leaveOut
    } catch (err) {
      // A bug or an unexpected file-system error in one folder must not cost the whole scan.
      problems.push({ path: d.rel, file: '.', message: `could not be inspected: ${(err as Error).message}` })
      return []
    }
  }
  const seen = new Set<string>()
  await walk([{ abs: root, rel: '.', depth: 0 }], { maxDepth, seen, visit })

  // Packages a monorepo declares deeper than the depth bound are still its packages: visit them too.
  const listDirs = async (abs: string): Promise<string[]> => (await listDir(abs))?.dirs ?? []
  for (const workspace of monorepoRoots) {
    for (const member of await memberFolders(workspace, listDirs, isSkippedDir)) {
      const rel = toRel(root, member)
      if (rel.startsWith('..')) continue
      await walk([{ abs: member, rel, depth: maxDepth }], { maxDepth, seen, visit })
    }
  }

  for (const p of workspaceProblems) {
    const rel = toRel(root, p.dir)
    if (!rel.startsWith('..')) problems.push({ path: rel, file: p.file, message: p.message })
  }
  frontends.sort((a, b) => comparePaths(a.path, b.path))
  problems.sort((a, b) => comparePaths(a.path, b.path) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
  return { root, frontends, problems, scannedDirs }
}

function toRel (root: string, abs: string): string {
  const rel = relative(root, abs)
  return rel === '' ? '.' : rel.split(sep).join('/')
}

/** comparePaths orders by path, the scanned folder ('.') first, independent of the locale. */
function comparePaths (a: string, b: string): number {
  if (a === b) return 0
  if (a === '.') return -1
  if (b === '.') return 1
  return a < b ? -1 : 1
}
