import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Database } from './db.ts'

/** SeedContext is what a module's seed receives: the database, a logger and whether demo data was asked for. */
export interface SeedContext {
  db: Database
  log: FastifyBaseLogger
  demo: boolean
}

/** BackplaneModule is a business module: a Fastify plugin plus an optional idempotent seed. */
export interface BackplaneModule {
  name: string
  plugin: FastifyPluginAsync
  /** seed must be idempotent: running it twice changes nothing. */
  seed?: (ctx: SeedContext) => Promise<void>
  /** demo adds demonstration data for `backplane seed --demo`, once: a second run must change nothing. */
  demo?: (ctx: DemoContext) => Promise<void>
  /**
   * migrations is the absolute path of the module's own drizzle-kit output folder (a module kept
   * outside Backplane's repository adds its tables this way); `start()` applies it after
   * Backplane's own, in module order, under the same lock, tracked in a table of the module's own.
   */
  migrations?: string
}

/** DemoContext is what a module's demo hook receives: the ready app (its services) and a way to tell the user something once. */
export interface DemoContext {
  app: FastifyInstance
  /** report prints a line for the person running the command (stdout, never the log): credentials shown once go here. */
  report: (line: string) => void
}

/**
 * defineModule declares a module for `buildApp`; built-in and team modules use the same shape.
 * @example
 * export default defineModule({ name: 'notes', plugin: notesPlugin, seed: async ({ db }) => {} })
 */
export function defineModule (mod: BackplaneModule): BackplaneModule {
  if (!/^[a-z][a-z0-9-]*$/.test(mod.name)) throw new Error(`module name "${mod.name}" must be kebab-case`)
  return mod
}

// Both hooks run the same way: in registration order, naming the modules that had one.
async function runHook<C> (modules: readonly BackplaneModule[], hook: (mod: BackplaneModule) => ((ctx: C) => Promise<void>) | undefined, ctx: C): Promise<string[]> {
  const ran: string[] = []
  for (const mod of modules) {
    const run = hook(mod)
    if (!run) continue
    await run(ctx)
    ran.push(mod.name)
  }
  return ran
}

/** runSeeds runs every module's seed in registration order. */
export async function runSeeds (modules: readonly BackplaneModule[], ctx: SeedContext): Promise<string[]> {
  return runHook(modules, (mod) => mod.seed, ctx)
}

/** runDemo runs every module's demo hook in registration order, after the seeds; it returns the modules that have one. */
export async function runDemo (modules: readonly BackplaneModule[], ctx: DemoContext): Promise<string[]> {
  return runHook(modules, (mod) => mod.demo, ctx)
}
