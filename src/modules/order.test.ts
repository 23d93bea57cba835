import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { builtinModules } from './index.ts'

// The module list is a true order: a module uses only the modules before it. A lower module that
// must reach a higher one owns a port the higher one registers on; nothing is bound late.
const here = import.meta.dirname
const names = builtinModules.map((m) => m.name)
const position = new Map(names.map((name, i) => [name, i]))
const sources = (mod: string) => readdirSync(join(here, mod), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => ({ file: `${mod}/${f}`, text: readFileSync(join(here, mod, f), 'utf8') }))

interface PluginMeta { name: string, dependencies?: string[] }
const metaOf = (i: number) => (builtinModules[i]!.plugin as unknown as Record<symbol, PluginMeta | undefined>)[Symbol.for('plugin-meta')]

// The app decorators each module declares (`declare module 'fastify' { interface FastifyInstance { … } }` in its index.ts).
function declaredDecorators (mod: string): string[] {
  const block = /interface FastifyInstance \{([\s\S]*?)\n {2}\}/.exec(readFileSync(join(here, mod, 'index.ts'), 'utf8'))?.[1] ?? ''
  return [...block.matchAll(/^ {4}(\w+)[?]?:/gm)].map((m) => m[1]!)
}

describe('module order', () => {
  it('registers every module after the modules its plugin depends on', () => {
    const pluginPosition = new Map(names.map((_name, i) => [metaOf(i)?.name, i]))
    for (const [i, name] of names.entries()) {
      for (const dependency of metaOf(i)?.dependencies ?? []) {
        const at = pluginPosition.get(dependency)
        if (at !== undefined) expect(at, `${name} depends on ${dependency}, registered after it`).toBeLessThan(i)
      }
    }
  })

  it('binds no module late: no hasDecorator, no decorator of a later module, no import of a later module but its table', () => {
    const owner = new Map<string, number>()
    for (const [i, name] of names.entries()) for (const decorator of declaredDecorators(name)) owner.set(decorator, i)
    expect(owner.get('sessions')).toBe(position.get('auth'))
    const offences: string[] = []
    for (const [i, name] of names.entries()) {
      for (const { file, text } of sources(name)) {
        if (text.includes('hasDecorator(')) offences.push(`${file}: hasDecorator`)
        for (const [, decorator] of text.matchAll(/\bapp\.(\w+)/g)) {
          if ((owner.get(decorator!) ?? -1) > i) offences.push(`${file}: app.${decorator} belongs to a later module`)
        }
        for (const [statement, other] of text.matchAll(/^import [^\n]*from '\.\.\/([a-z-]+)\/index\.ts'/gm)) {
          const at = position.get(other!)
          // A table may reference a later module's table for a foreign key (schema, not code).
          const foreignKey = file.endsWith('/table.ts') && !statement.startsWith('import type')
          if (at !== undefined && at > i && !foreignKey) offences.push(`${file}: imports ${other}, registered after it`)
        }
      }
    }
    expect(offences).toEqual([])
  })
})
