// @vitest-environment node
import { access, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FIRST_LOAD_BUDGET, measureFirstLoad } from '../../scripts/dashboard-size.ts'

const dist = fileURLToPath(new URL('../dist', import.meta.url))

// `npm ci` builds the console (prepare → build → dashboard:build), so CI measures what it ships.
describe('the built console', () => {
  it('loads at most 250 KB of gzipped JavaScript on its first page', async () => {
    await access(dist).catch(() => { throw new Error('dashboard/dist is missing: run npm run dashboard:build') })
    const load = await measureFirstLoad(dist)
    console.log(`first load: ${load.files.map((f) => `${f.file} ${f.gzip} B`).join(', ')}; total ${(load.gzip / 1024).toFixed(1)} KB gzip`)
    expect(load.gzip).toBeGreaterThan(10_000)
    expect(load.gzip).toBeLessThanOrEqual(FIRST_LOAD_BUDGET)
  })

  it('has no inline script or style and loads nothing from another origin (CSP self only, works offline)', async () => {
    const html = await readFile(`${dist}/index.html`, 'utf8')
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/)
    expect(html).not.toMatch(/<style|\sstyle=/)
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//)
    for (const f of (await measureFirstLoad(dist)).files) {
      const js = await readFile(`${dist}/${f.file}`, 'utf8')
      expect(js, f.file).not.toMatch(/fonts\.googleapis|cdn\.jsdelivr|unpkg\.com/)
    }
  })
})
