import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigSchema, loadConfig } from '../../src/config.ts'
import { projectRoot } from '../helpers/process.ts'

// The docs are part of the product: every setting must be documented where users look.
describe('documentation stays true', () => {
  const keys = Object.keys(ConfigSchema.properties)

  it.each(['README.md', '.env.example'])('%s lists every setting', async (file) => {
    const text = await readFile(`${projectRoot}/${file}`, 'utf8')
    const missing = keys.filter((k) => !text.includes(k))
    expect(missing).toEqual([])
  })

  it('.env.example sets each setting exactly once, under a comment, and nothing else', async () => {
    const lines = (await readFile(`${projectRoot}/.env.example`, 'utf8')).split('\n')
    const assigned: string[] = []
    const uncommented: string[] = []
    lines.forEach((line, i) => {
      const key = /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1]
      if (key === undefined) return
      assigned.push(key)
      // A setting's comment is the nearest line above it that is not another setting (a group of
      // related settings may share one); a blank line above means it has none.
      let j = i - 1
      while (j >= 0 && /^[A-Z][A-Z0-9_]*=/.test(lines[j] ?? '')) j--
      if (!(lines[j] ?? '').startsWith('# ')) uncommented.push(key)
    })
    expect([...assigned].sort()).toEqual([...keys].sort())
    expect(uncommented).toEqual([])
  })

  it('copying .env.example to .env changes no setting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-env-example-'))
    try {
      await copyFile(`${projectRoot}/.env.example`, join(dir, '.env'))
      const values = (effective: Record<string, { value: string }>) => Object.fromEntries(Object.entries(effective).map(([k, v]) => [k, v.value]))
      expect(values(loadConfig({}, { cwd: dir }).effective)).toEqual(values(loadConfig({}, { filesOff: true }).effective))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('.ci/run calls the README test command', async () => {
    const ci = await readFile(`${projectRoot}/.ci/run`, 'utf8')
    const readme = await readFile(`${projectRoot}/README.md`, 'utf8')
    expect(readme).toContain('npm test')
    expect(ci).toMatch(/^npm test$/m)
  })
})
