import { importedModules } from './config-text.ts'
import { isRecord } from './read-file.ts'
import { runsProgram, type ScriptCommand } from './scripts.ts'

/** ConfigFile is a config file's name and its text with comments removed. */
export interface ConfigFile {
  file: string
  text: string
}

/** AppContext is what one folder says about itself: the evidence the framework rules weigh. */
export interface AppContext {
  files: Set<string>
  dirs: Set<string>
  /** deps are the folder's dependencies and devDependencies (an Nx project without package.json borrows its root's). */
  deps: Record<string, string>
  /** borrowedDeps is true when deps are the Nx root's, shared by every project of the workspace. */
  borrowedDeps: boolean
  peerDeps: Record<string, string>
  commands: ScriptCommand[]
  viteConfig: ConfigFile | null
  projectJson: Record<string, unknown> | null
  angularJson: Record<string, unknown> | null
  appJson: Record<string, unknown> | null
}

/** CONFIG_EXTENSIONS are the extensions a JavaScript tool's config file may have. */
export const CONFIG_EXTENSIONS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs']

/** configFileName is the first `<base>.<ext>` config file the folder has, or null. */
export function configFileName (ctx: { files: Set<string> }, base: string): string | null {
  for (const ext of CONFIG_EXTENSIONS) {
    if (ctx.files.has(`${base}.${ext}`)) return `${base}.${ext}`
  }
  return null
}

/** has tells whether the app depends on a package. */
export function has (ctx: AppContext, dep: string): boolean {
  return Object.hasOwn(ctx.deps, dep)
}

/** runs tells whether one of the app's scripts runs a program. */
export function runs (ctx: AppContext, binary: string): boolean {
  return runsProgram(ctx.commands, binary)
}

/** viteImports lists the modules the Vite config imports (its plugins say which framework it builds). */
export function viteImports (ctx: AppContext): Set<string> {
  return ctx.viteConfig === null ? new Set() : importedModules(ctx.viteConfig.text)
}

/** nxExecutors lists the executors (and builders) of an Nx project.json's targets, e.g. '@nx/next:server'. */
export function nxExecutors (ctx: AppContext): string[] {
  return targetRunners(ctx.projectJson)
}

/** targetRunners reads the `executor`/`builder` of every target of an Nx or Angular project. */
export function targetRunners (project: Record<string, unknown> | null): string[] {
  if (project === null) return []
  const targets = isRecord(project.targets) ? project.targets : isRecord(project.architect) ? project.architect : {}
  const out: string[] = []
  for (const target of Object.values(targets)) {
    if (!isRecord(target)) continue
    const runner = typeof target.executor === 'string' ? target.executor : target.builder
    if (typeof runner === 'string') out.push(runner)
  }
  return out
}

/** usesNxPlugin tells whether an Nx project runs an executor of the given plugin, e.g. '@nx/next'. */
export function usesNxPlugin (ctx: AppContext, plugin: string): boolean {
  return nxExecutors(ctx).some((e) => e.startsWith(`${plugin}:`))
}

/** majorOf reads the major version of a version or range such as '^19.3.1' or '~58.0.0-preview.5'. */
export function majorOf (range: string | undefined): number | null {
  const match = /(\d+)(?:\.\d+)*/.exec(range ?? '')
  return match === null ? null : Number(match[1])
}
