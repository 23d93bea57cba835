// @vitest-environment node
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const src = fileURLToPath(new URL('../src', import.meta.url))
// The one place that calls fetch: the generated client's fetch (retry once after a refresh).
const ALLOWED = new Set(['session/api.ts'])

async function sources (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts') && !e.name.endsWith('.test.tsx'))
    .map((e) => join(e.parentPath, e.name))
}

// Every page calls the API through the client generated from the OpenAPI document (#16):
// regenerate it with `npm run dashboard:api` when the server gains an endpoint.
describe('the console calls the API through the generated client', () => {
  it('has no hand-written fetch or XMLHttpRequest but the generated client\'s own fetch', async () => {
    const found: string[] = []
    for (const file of await sources(src)) {
      const name = relative(src, file)
      if (name.endsWith('.d.ts') || ALLOWED.has(name)) continue
      const text = await readFile(file, 'utf8')
      for (const [i, line] of text.split('\n').entries()) {
        if (/^\s*(\/\/|\/\*|\*)/.test(line)) continue // comments
        if (/\bfetch\s*\(|XMLHttpRequest|new EventSource/.test(line)) found.push(`${name}:${i + 1}: ${line.trim()}`)
      }
    }
    expect(found).toEqual([])
  })
})
