// `npm start` runs the compiled `dist/` (Node loads it faster and with ~50 MB less memory than
// stripping types from `src/` at run time). This runs first (`prestart`) and rebuilds `dist/`
// when a source file changed since the last build, so `npm start` never serves stale code.
import { spawnSync } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const STAMP = join(root, 'dist', '.build-stamp')

async function newestSource (dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, (await stat(path)).mtimeMs)
  }
  return newest
}

const built = await stat(STAMP).then((s) => s.mtimeMs, () => 0)
const sources = Math.max(await newestSource(join(root, 'src')), (await stat(join(root, 'tsconfig.build.json'))).mtimeMs)
if (built < sources) {
  process.stderr.write(built === 0 ? 'backplane: building dist/ (npm run build)…\n' : 'backplane: src/ changed since the last build; rebuilding dist/ (npm run build)…\n')
  const run = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
  if (run.status !== 0) process.exit(run.status ?? 1)
}
