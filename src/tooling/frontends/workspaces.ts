import { join, relative, sep } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { AncestorDir } from './ancestry.ts'
import { fromPackageManagerField } from './package-manager.ts'
import { isRecord, readSmallText, stringRecord, yamlMessage } from './read-file.ts'
import type { MonorepoKind } from './types.ts'

/** WorkspaceRoot is the root folder of a monorepo and how it says which folders are its packages. */
export interface WorkspaceRoot {
  abs: string
  kind: MonorepoKind
  /** patterns are the package globs (`apps/*`, `!**\/test`); empty means every folder below can be a project. */
  patterns: string[]
  /** catalogs are pnpm's shared version ranges: `catalog:` → 'default', `catalog:name` → 'name'. */
  catalogs: Map<string, Record<string, string>>
}

/** WorkspaceProblem is a monorepo file that could not be read as written. */
export interface WorkspaceProblem {
  dir: string
  file: string
  message: string
}

/**
 * readWorkspaceRoot tells whether a folder is a monorepo root: Nx (`nx.json`), Turborepo
 * (`turbo.json`), pnpm (`pnpm-workspace.yaml`) or npm/yarn/bun workspaces (`workspaces` in package.json).
 * When several apply, the orchestrator (Nx, Turborepo) names the monorepo, as it is what its people run.
 */
export async function readWorkspaceRoot (dir: AncestorDir, problems: WorkspaceProblem[]): Promise<WorkspaceRoot | null> {
  const patterns = [...(dir.manifest?.workspaces ?? [])]
  const catalogs = new Map<string, Record<string, string>>()
  let pnpm = false
  if (dir.files.has('pnpm-workspace.yaml')) {
    const read = await readSmallText(join(dir.abs, 'pnpm-workspace.yaml'))
    if (read.ok) {
      try {
        const doc: unknown = parseYaml(read.text)
        pnpm = true
        if (isRecord(doc)) {
          if (Array.isArray(doc.packages)) patterns.push(...doc.packages.filter((p): p is string => typeof p === 'string'))
          if (isRecord(doc.catalog)) catalogs.set('default', stringRecord(doc.catalog))
          if (isRecord(doc.catalogs)) {
            for (const [name, entries] of Object.entries(doc.catalogs)) catalogs.set(name, stringRecord(entries))
          }
        }
      } catch (err) {
        problems.push({ dir: dir.abs, file: 'pnpm-workspace.yaml', message: `invalid YAML: ${yamlMessage(err)}` })
      }
    } else {
      problems.push({ dir: dir.abs, file: 'pnpm-workspace.yaml', message: read.message })
    }
  }
  let kind: MonorepoKind | null = null
  if (dir.files.has('nx.json')) kind = 'nx'
  else if (dir.files.has('turbo.json')) kind = 'turborepo'
  else if (pnpm) kind = 'pnpm'
  else if (patterns.length > 0) {
    const yarn = dir.files.has('yarn.lock') || fromPackageManagerField(dir.manifest?.packageManager ?? null) === 'yarn'
    kind = yarn ? 'yarn' : 'npm-workspaces'
  }
  return kind === null ? null : { abs: dir.abs, kind, patterns, catalogs }
}

/**
 * includes tells whether an app folder belongs to the monorepo: the root itself, any folder below an
 * Nx or Turborepo root that declares no package globs, or a folder matched by the package globs.
 */
export function includes (root: WorkspaceRoot, appAbs: string): boolean {
  const rel = relative(root.abs, appAbs).split(sep).join('/')
  if (rel === '') return true
  if (rel.startsWith('..')) return false
  if (root.patterns.length === 0) return root.kind === 'nx' || root.kind === 'turborepo'
  if (root.kind === 'nx') return true
  let matched = false
  for (const pattern of root.patterns) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(rel)) return false
    } else if (globToRegExp(pattern).test(rel)) {
      matched = true
    }
  }
  return matched
}

/** globToRegExp turns a workspace glob (`apps/*`, `packages/**`) into an anchored regular expression. */
export function globToRegExp (pattern: string): RegExp {
  const clean = pattern.trim().replace(/^\.\//, '').replace(/\/+$/, '')
  let source = ''
  for (let i = 0; i < clean.length; i++) {
    const ch = clean[i] ?? ''
    if (ch === '*' && clean[i + 1] === '*') {
      // `a/**` matches a/x and a/x/y; `a/**/b` matches a/b too.
      source += clean[i + 2] === '/' ? '(?:.*/)?' : '.*'
      i += clean[i + 2] === '/' ? 2 : 1
    } else if (ch === '*') {
      source += '[^/]*'
    } else if (ch === '?') {
      source += '[^/]'
    } else {
      source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${source}$`)
}

/**
 * memberFolders lists the folders a root's package globs name, for the ones the walk did not reach
 * (a package deeper than the depth bound is still a package). Only globs of a fixed depth (`apps/*`,
 * `packages/team/*`) are expanded, one path segment at a time, so the work stays proportional to the
 * matches; a `**` glob could mean the whole tree again, and the walk already covers it within its bound.
 */
export async function memberFolders (
  root: WorkspaceRoot,
  listDirs: (abs: string) => Promise<string[]>,
  skip: (name: string) => boolean
): Promise<string[]> {
  const found = new Set<string>()
  for (const pattern of root.patterns) {
    if (pattern.startsWith('!') || pattern.includes('**')) continue
    const segments = pattern.trim().replace(/^\.\//, '').replace(/\/+$/, '').split('/').map(globToRegExp)
    let level = [root.abs]
    for (const segment of segments) {
      const next: string[] = []
      for (const dir of level) {
        for (const name of await listDirs(dir)) {
          if (!skip(name) && segment.test(name)) next.push(join(dir, name))
        }
      }
      level = next
    }
    for (const dir of level) {
      if (includes(root, dir)) found.add(dir)
    }
  }
  return [...found].sort()
}
