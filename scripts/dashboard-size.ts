// Measures the console's first load: the JavaScript that dashboard/dist/index.html loads
// (its entry script and the chunks it preloads), gzipped. The budget is 250 KB compressed;
// CI runs this through dashboard/test/bundle-size.test.ts. Usage: npm run dashboard:size
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

/** FIRST_LOAD_BUDGET is the most compressed JavaScript the console's first page may load. */
export const FIRST_LOAD_BUDGET = 250 * 1024

/** FirstLoad lists each script of the first load with its raw and gzipped size. */
export interface FirstLoad { files: Array<{ file: string, bytes: number, gzip: number }>, gzip: number }

/** measureFirstLoad reads index.html of a built console and gzips (level 9) every script it loads. */
export async function measureFirstLoad (dist: string): Promise<FirstLoad> {
  const html = await readFile(join(dist, 'index.html'), 'utf8')
  const srcs = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/admin\/([^"]+\.js)"/g)].map((m) => m[1] ?? '')
  if (srcs.length === 0) throw new Error(`${dist}/index.html loads no script`)
  const files = await Promise.all(srcs.map(async (file) => {
    const body = await readFile(join(dist, file))
    return { file, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length }
  }))
  return { files, gzip: files.reduce((n, f) => n + f.gzip, 0) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dist = fileURLToPath(new URL('../dashboard/dist', import.meta.url))
  const load = await measureFirstLoad(dist)
  for (const f of load.files) process.stdout.write(`${f.file}: ${(f.bytes / 1024).toFixed(1)} KB, ${(f.gzip / 1024).toFixed(1)} KB gzip\n`)
  process.stdout.write(`first load: ${(load.gzip / 1024).toFixed(1)} KB gzip of ${FIRST_LOAD_BUDGET / 1024} KB\n`)
  if (load.gzip > FIRST_LOAD_BUDGET) process.exit(1)
}
