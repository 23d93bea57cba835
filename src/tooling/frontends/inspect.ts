import { basename, join } from 'node:path'
import { configFileName, has, type AppContext, type ConfigFile } from './app-context.ts'
import type { AncestorDir, Ancestry } from './ancestry.ts'
import { stripComments } from './config-text.ts'
import { readDevEnv, type EnvValue } from './env-files.ts'
import { FLUTTER_PLATFORM_DIRS, readFlutterApp } from './flutter.ts'
import { matchFramework, type FrameworkMatch } from './frameworks.ts'
import { toManifest, type PackageManifest } from './manifest.ts'
import { devOrigins } from './origins.ts'
import { detectPackageManager, fromPackageManagerField } from './package-manager.ts'
import { isRecord, readJsonObject, readSmallText } from './read-file.ts'
import { scriptCommands } from './scripts.ts'
import type { DetectedFrontend, DetectionProblem } from './types.ts'
import { packageVersion } from './versions.ts'
import type { WalkedDir } from './walk.ts'
import { includes, type WorkspaceRoot } from './workspaces.ts'

/** Inspection is what one folder turned out to hold, and the sub-folders the walk need not enter. */
export interface Inspection {
  frontend: DetectedFrontend | null
  problems: DetectionProblem[]
  leaveOut: string[]
}

/** InspectTools are shared by every folder of one scan: cached reads of parent folders and monorepo roots. */
export interface InspectTools {
  rootName: string
  ancestry: Ancestry
  workspaceRoot: (dir: AncestorDir) => Promise<WorkspaceRoot | null>
}

const NATIVE_DIRS = ['android', 'ios']

/**
 * inspectFolder decides whether one folder is a frontend app and describes it. Every file that
 * cannot be read as written becomes a problem for this folder; the folder is then judged on what
 * remains (a valid package.json beside a broken angular.json is still an Angular app).
 */
export async function inspectFolder (dir: WalkedDir, tools: InspectTools): Promise<Inspection> {
  const problems: DetectionProblem[] = []
  const json = async (file: string): Promise<Record<string, unknown> | null> => {
    if (!dir.files.has(file)) return null
    const read = await readJsonObject(join(dir.abs, file))
    if (read.ok) return read.value
    problems.push({ path: dir.rel, file, message: read.message })
    return null
  }
  const packageJson = await json('package.json')
  const manifest = packageJson === null ? null : toManifest(packageJson)
  const projectJson = await json('project.json')
  const dirs = new Set(dir.dirs)

  if (dir.files.has('pubspec.yaml')) {
    const flutter = await readFlutterApp(dir.abs, dirs)
    if (flutter !== null && 'problem' in flutter) {
      problems.push({ path: dir.rel, file: 'pubspec.yaml', message: flutter.problem })
    } else if (flutter !== null) {
      const chain = await tools.ancestry.chain(dir.abs)
      const monorepo = await findMonorepo(chain, dir.abs, tools)
      const scripted = manifest === null ? null : originsOf(flutterMatch, contextOf(dir, dirs, manifest.dependencies, false, manifest, null, null, null, null))
      return {
        problems,
        leaveOut: [...FLUTTER_PLATFORM_DIRS, 'web'],
        frontend: {
          name: flutter.name ?? folderName(dir, tools),
          path: dir.rel,
          framework: 'flutter',
          frameworkVersion: flutter.flutterVersion,
          bundler: null,
          packageManager: 'pub',
          ...(scripted !== null && scripted.origins.length > 0 ? scripted : flutter.origins),
          language: 'dart',
          monorepo: monorepo?.kind ?? null
        }
      }
    }
  }
  if (manifest === null && projectJson === null) return { frontend: null, problems, leaveOut: [] }

  const angularJson = await json('angular.json')
  const appJson = dir.files.has('app.json') ? await json('app.json') : null
  const chain = await tools.ancestry.chain(dir.abs)
  const monorepo = await findMonorepo(chain, dir.abs, tools)
  // An Nx project without dependencies of its own uses the workspace root's package.json: one with a
  // project.json, or (Nx 20+ "TS solution" workspaces) a package.json that only names the project.
  const own = manifest?.dependencies ?? {}
  const rootManifest = monorepo?.kind === 'nx' && monorepo.abs !== dir.abs ? chain.find((a) => a.abs === monorepo.abs)?.manifest ?? null : null
  const borrowed = Object.keys(own).length === 0 && rootManifest !== null
  const deps = borrowed ? rootManifest.dependencies : own
  const viteConfig = await configText(dir, 'vite.config', problems)
  const ctx = contextOf(dir, dirs, deps, borrowed, manifest, viteConfig, projectJson, angularJson, appJson)
  const match = matchFramework(ctx)
  if (match === null) return { frontend: null, problems, leaveOut: [] }

  const frameworkConfig = match.config === 'astro' || match.config === 'nuxt' ? await configText(dir, `${match.config}.config`, problems) : null
  const origins = originsOf(match, ctx, await readDevEnv(dir.abs, dir.files), frameworkConfig)
  const version = match.versionPackage === null ? null : await packageVersion(match.versionPackage, deps[match.versionPackage], chain, monorepo)
  const typescript = ['tsconfig.json', 'tsconfig.app.json'].some((f) => dir.files.has(f)) || (!borrowed && has(ctx, 'typescript')) || match.config === 'angular'
  return {
    problems,
    leaveOut: match.framework === 'expo' || match.framework === 'react-native' || match.framework === 'ionic' ? NATIVE_DIRS : [],
    frontend: {
      name: manifest?.name ?? (typeof projectJson?.name === 'string' ? projectJson.name : null) ?? folderName(dir, tools),
      path: dir.rel,
      framework: match.framework,
      frameworkVersion: version,
      bundler: match.bundler,
      packageManager: detectPackageManager(chain) ?? angularPackageManager(angularJson),
      ...origins,
      language: typescript ? 'typescript' : 'javascript',
      monorepo: monorepo?.kind ?? null
    }
  }
}

const flutterMatch: FrameworkMatch = { framework: 'flutter', versionPackage: null, bundler: null, config: null, envPorts: [], envFirst: false, defaults: [] }

function originsOf (match: FrameworkMatch, ctx: AppContext, env: Map<string, EnvValue> = new Map(), frameworkConfig: ConfigFile | null = null): ReturnType<typeof devOrigins> {
  return devOrigins({ match, ctx, env, frameworkConfig })
}

function contextOf (
  dir: WalkedDir,
  dirs: Set<string>,
  deps: Record<string, string>,
  borrowedDeps: boolean,
  manifest: PackageManifest | null,
  viteConfig: ConfigFile | null,
  projectJson: Record<string, unknown> | null,
  angularJson: Record<string, unknown> | null,
  appJson: Record<string, unknown> | null
): AppContext {
  return {
    files: dir.files,
    dirs,
    deps,
    borrowedDeps,
    peerDeps: manifest?.peerDependencies ?? {},
    commands: scriptCommands(manifest?.scripts ?? {}),
    viteConfig,
    projectJson,
    angularJson,
    appJson
  }
}

/** configText reads a JavaScript config file as text, comments removed: it is never imported or run. */
async function configText (dir: WalkedDir, base: string, problems: DetectionProblem[]): Promise<ConfigFile | null> {
  const file = configFileName(dir, base)
  if (file === null) return null
  const read = await readSmallText(join(dir.abs, file))
  if (read.ok) return { file, text: stripComments(read.text) }
  problems.push({ path: dir.rel, file, message: read.message })
  return null
}

/** findMonorepo is the innermost monorepo root, at or above the app, that counts the app among its packages. */
async function findMonorepo (chain: AncestorDir[], appAbs: string, tools: InspectTools): Promise<WorkspaceRoot | null> {
  for (const dir of chain) {
    const root = await tools.workspaceRoot(dir)
    if (root !== null && includes(root, appAbs)) return root
  }
  return null
}

function angularPackageManager (angularJson: Record<string, unknown> | null): DetectedFrontend['packageManager'] {
  const cli = isRecord(angularJson?.cli) ? angularJson.cli : {}
  return fromPackageManagerField(typeof cli.packageManager === 'string' ? cli.packageManager : null)
}

function folderName (dir: WalkedDir, tools: InspectTools): string {
  return dir.rel === '.' ? tools.rootName : basename(dir.abs)
}
