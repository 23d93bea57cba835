import { parseEnv } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ENV_BLOCK_END, ENV_BLOCK_START, mergeEnvBlock, renderEnvBlock } from './env-block.ts'
import { isBackplaneFile } from './owned-files.ts'

const vars: Array<[string, string]> = [['VITE_BACKPLANE_URL', 'http://localhost:3000'], ['VITE_BACKPLANE_KEY', 'bp_abc']]
const block = `${ENV_BLOCK_START}\nVITE_BACKPLANE_URL=http://localhost:3000\nVITE_BACKPLANE_KEY=bp_abc\n${ENV_BLOCK_END}\n`

describe('mergeEnvBlock', () => {
  it('makes a new file of the block alone, which reads as Backplane\'s', () => {
    expect(renderEnvBlock(vars)).toBe(block)
    expect(mergeEnvBlock(null, vars)).toBe(block)
    expect(mergeEnvBlock('\n', vars)).toBe(block)
    expect(isBackplaneFile(block, 'dotenv')).toBe(true)
    expect(isBackplaneFile('FOO=1\n', 'dotenv')).toBe(false)
    expect(parseEnv(block)).toEqual({ VITE_BACKPLANE_URL: 'http://localhost:3000', VITE_BACKPLANE_KEY: 'bp_abc' })
  })

  it('appends the block to a user\'s file, keeping every other line, and drops its own names defined elsewhere', () => {
    const merged = mergeEnvBlock('# mine\nFOO=1\nexport VITE_BACKPLANE_URL=http://old\nBAR="two words"\n', vars)
    expect(merged).toBe(`# mine\nFOO=1\nBAR="two words"\n\n${block}`)
    expect(parseEnv(merged)).toEqual({ FOO: '1', BAR: 'two words', VITE_BACKPLANE_URL: 'http://localhost:3000', VITE_BACKPLANE_KEY: 'bp_abc' })
  })

  it('replaces only the block in place on the next run, and is stable once written', () => {
    const first = mergeEnvBlock('FOO=1\n', vars)
    const user = `${first}AFTER=2\n`
    const next = mergeEnvBlock(user, [['VITE_BACKPLANE_URL', 'https://api.example.com'], ['VITE_BACKPLANE_KEY', 'bp_new']])
    expect(next).toBe(`FOO=1\n\n${ENV_BLOCK_START}\nVITE_BACKPLANE_URL=https://api.example.com\nVITE_BACKPLANE_KEY=bp_new\n${ENV_BLOCK_END}\nAFTER=2\n`)
    expect(mergeEnvBlock(next, [['VITE_BACKPLANE_URL', 'https://api.example.com'], ['VITE_BACKPLANE_KEY', 'bp_new']])).toBe(next)
  })

  it('ends a block whose end line was deleted at the first line that is not its own', () => {
    const broken = `${ENV_BLOCK_START}\nVITE_BACKPLANE_URL=http://old\nKEEP=me\n`
    expect(mergeEnvBlock(broken, vars)).toBe(`${block}KEEP=me\n`)
  })

  it('reads Windows line endings', () => {
    expect(mergeEnvBlock('FOO=1\r\nVITE_BACKPLANE_KEY=x\r\n', vars)).toBe(`FOO=1\n\n${block}`)
  })
})
