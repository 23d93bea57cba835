import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { ConfigSchema } from '../../src/config.ts'
import { projectRoot } from '../helpers/process.ts'

// The docs are part of the product: every setting must be documented where users look.
describe('documentation stays true', () => {
  const keys = Object.keys(ConfigSchema.properties)

  it.each(['README.md', '.env.example'])('%s lists every setting', async (file) => {
    const text = await readFile(`${projectRoot}/${file}`, 'utf8')
    const missing = keys.filter((k) => !text.includes(k))
    expect(missing).toEqual([])
  })

  it('.ci/run calls the README test command', async () => {
    const ci = await readFile(`${projectRoot}/.ci/run`, 'utf8')
    const readme = await readFile(`${projectRoot}/README.md`, 'utf8')
    expect(readme).toContain('npm test')
    expect(ci).toMatch(/^npm test$/m)
  })
})
