import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

// #14 "permissions as data everywhere": a module declares its permissions in its permissions.ts
// (projects/permissions.ts is the model) and code names them through those constants; the built-in
// admin role is rbac's ADMIN_ROLE. A permission or role checked by a string literal in code is how a
// rename silently turns a check off, so none may be left (route access declarations are data:
// platform/auth refuses an undeclared one at start-up).
const src = join(import.meta.dirname, '..')
const files = readdirSync(src, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))

describe('permissions as data', () => {
  it('no code checks a permission or a role by a string literal', () => {
    const offences: string[] = []
    for (const file of files) {
      const text = readFileSync(join(src, file), 'utf8')
      for (const match of text.matchAll(/\b(?:permissions|roles)\.(?:has|includes)\(\s*['"`][^'"`]+['"`]\s*\)/g)) {
        offences.push(`${relative(src, join(src, file))}: ${match[0]}`)
      }
    }
    expect(offences, 'use the constant from the module\'s permissions.ts (or ADMIN_ROLE)').toEqual([])
  })
})
