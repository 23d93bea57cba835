import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify'
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

/** runSeeds runs every module's seed in registration order. */
export async function runSeeds (modules: readonly BackplaneModule[], ctx: SeedContext): Promise<string[]> {
  const ran: string[] = []
  for (const mod of modules) {
    if (!mod.seed) continue
    await mod.seed(ctx)
    ran.push(mod.name)
  }
  return ran
}
