import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readOwnerLock, removeOwnerLock, writeOwnerLock } from './data-dir-lock.ts'

let dir: string
let other: ChildProcess
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backplane-lock-'))
  // Another live node process: what a recycled pid may belong to after a kill -9 or a new container.
  other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' })
})
afterAll(async () => {
  other.kill()
  await rm(dir, { recursive: true, force: true })
})

const lockFile = () => join(dir, 'backplane.pid')

describe.skipIf(!existsSync('/proc/self/stat'))('the data dir lock', () => {
  it('names this process with its start time, and is released by it', async () => {
    await writeOwnerLock(dir)
    expect((await readFile(lockFile(), 'utf8')).split(' ')).toEqual([String(process.pid), expect.stringMatching(/^[0-9]+$/)])
    expect(await readOwnerLock(dir)).toBe(process.pid)
    await removeOwnerLock(dir)
    expect(existsSync(lockFile())).toBe(false)
  })

  it('does not take a live process with the same pid but another start time for the owner', async () => {
    await writeFile(lockFile(), `${other.pid} 1`)
    expect(await readOwnerLock(dir)).toBeUndefined()
    const started = (await readFile(`/proc/${other.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19]
    await writeFile(lockFile(), `${other.pid} ${started}`)
    expect(await readOwnerLock(dir)).toBe(other.pid)
  })

  it('still reads a lock written without a start time, and ignores a dead pid', async () => {
    await writeFile(lockFile(), String(other.pid))
    expect(await readOwnerLock(dir)).toBe(other.pid)
    await writeFile(lockFile(), '2147483646 1')
    expect(await readOwnerLock(dir)).toBeUndefined()
  })

  it('leaves a lock that another process holds', async () => {
    await writeFile(lockFile(), `${other.pid} 1`)
    await removeOwnerLock(dir)
    expect(existsSync(lockFile())).toBe(true)
  })
})
