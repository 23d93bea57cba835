import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../helpers/process.ts'

// The module guide shows a complete module; that module is examples/team-module, which CI
// migrates and tests (.ci/run). Each file the guide shows must be that example's file as it is,
// so following the guide literally gives the module that is tested.
const guide = await readFile(join(projectRoot, 'src/modules/README.md'), 'utf8')
const shown = [...guide.matchAll(/```ts\n\/\/ (examples\/team-module\/\S+)\n([\s\S]*?)\n```/g)].map((m) => ({ path: m[1]!, text: m[2]! }))

describe('src/modules/README.md shows the tested example module', () => {
  it('shows every source file of examples/team-module/src/notes', async () => {
    const files = (await readdir(join(projectRoot, 'examples/team-module/src/notes'))).filter((f) => !f.endsWith('.test.ts'))
    expect(shown.map((s) => s.path).filter((p) => p.includes('/src/notes/')).map((p) => p.split('/').at(-1)).sort()).toEqual(files.sort())
  })

  it.each(shown.map((s) => [s.path, s.text] as const))('%s is the example file, word for word', async (path, text) => {
    expect(text).toBe((await readFile(join(projectRoot, path), 'utf8')).replace(/\n$/, ''))
  })
})
