// `npm run build` step after tsc: TypeScript 5.9's rewriteRelativeImportExtensions rewrites static
// imports but misses some dynamic `import('./x.ts')` calls in ES modules, so `dist/` would ask for
// `.ts` files that do not exist there (`node dist/main.js start` then fails to load its queue
// adapter). This rewrites those specifiers to `.js`, then fails the build if a relative `.ts`
// import is left anywhere in `dist/`, and stamps the build.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const root = new URL('../dist/', import.meta.url).pathname
const DYNAMIC = /\bimport\((['"])(\.{1,2}\/[^'"]+?)\.ts\1\)/g
const LEFT = /\b(?:import\(|from\s*)(['"])\.{1,2}\/[^'"]+?(?<!\.d)\.ts\1/

async function * jsFiles (dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield * jsFiles(path)
    else if (entry.name.endsWith('.js')) yield path
  }
}

let rewritten = 0
const left: string[] = []
for await (const file of jsFiles(root)) {
  const text = await readFile(file, 'utf8')
  const fixed = text.replace(DYNAMIC, (_all, quote: string, path: string) => `import(${quote}${path}.js${quote})`)
  if (fixed !== text) {
    await writeFile(file, fixed)
    rewritten++
  }
  // Generated code inside template strings (the SDK's client template) is not an import of dist/.
  for (const line of fixed.split('\n')) if (LEFT.test(line) && !line.includes('import type')) left.push(`${file}: ${line.trim()}`)
}
if (left.length > 0) {
  process.stderr.write(`dist/ still imports .ts files:\n${left.join('\n')}\n`)
  process.exit(1)
}
// The time of the last complete build, which `npm start` (scripts/build-if-stale.ts) compares with src/.
await writeFile(join(root, '.build-stamp'), `${new Date().toISOString()}\n`)
process.stdout.write(`dist/: relative imports point at .js (${rewritten} file${rewritten === 1 ? '' : 's'} fixed after tsc)\n`)
