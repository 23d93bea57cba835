import { describe, expect, it } from 'vitest'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { testConfig } from '../../test/helpers/app.ts'
import { createLogger } from './logging.ts'

const flush = (log: Logger) => new Promise<void>((resolve) => { log.flush(() => { resolve() }) })
const end = (log: Logger) => (log as unknown as Record<symbol, { end: () => void }>)[pino.symbols.streamSym]?.end()

describe('LOG_FILE rotation under sustained load', () => {
  it('keeps every file within LOG_FILE_SIZE and no more than LOG_FILE_COUNT rotated files, earlier runs\' included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-rotate-'))
    try {
      // Six rotated files left by earlier runs, as after a benchmark's restarts.
      for (let n = 1; n <= 6; n++) await writeFile(join(dir, `app.${n}.log`), `{"old":${n}}\n`)
      const log = createLogger(testConfig({ LOG_FILE: join(dir, 'app.log'), LOG_FILE_SIZE: '64k', LOG_FILE_COUNT: '3', LOG_LEVEL: 'info' }))
      // 6 MiB of lines, ~100 times the size limit, as fast as pino takes them: no pause lets a
      // rotation catch up between writes.
      const filler = 'x'.repeat(180)
      const lines = 32 * 1024
      for (let i = 0; i < lines; i++) {
        log.info({ i, filler }, 'load')
        if (i % 4096 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await flush(log)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const files = (await readdir(dir)).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
      const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size))
      expect.soft(files.length, files.join()).toBeLessThanOrEqual(3 + 1)
      for (const [i, size] of sizes.entries()) expect.soft(size, files[i]).toBeLessThanOrEqual(64 * 1024)
      // The newest file holds the last line; nothing was lost inside it.
      const newest = await readFile(join(dir, files.at(-1)!), 'utf8')
      const last = newest.trim().split('\n').at(-1)!
      expect(JSON.parse(last)).toMatchObject({ i: lines - 1, msg: 'load' })
      // Each kept file is whole JSON lines, counting up without a gap.
      const kept = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('').trim().split('\n').map((l) => JSON.parse(l) as { i: number })
      for (let k = 1; k < kept.length; k++) expect(kept[k]!.i).toBe(kept[k - 1]!.i + 1)
      end(log)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('continues the numbering of the files already there and appends to the newest while it has room', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-rotate-'))
    try {
      await writeFile(join(dir, 'app.7.log'), '{"old":7}\n')
      const log = createLogger(testConfig({ LOG_FILE: join(dir, 'app.log'), LOG_FILE_SIZE: '1m', LOG_FILE_COUNT: '2' }))
      log.info('appended')
      await flush(log)
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(await readdir(dir)).toEqual(['app.7.log'])
      const text = await readFile(join(dir, 'app.7.log'), 'utf8')
      expect(text.startsWith('{"old":7}\n')).toBe(true)
      expect(text).toContain('"msg":"appended"')
      end(log)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
