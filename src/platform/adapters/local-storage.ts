import { createWriteStream } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { newId } from '../../lib/ids.ts'
import { assertStorageKey, StorageNotFoundError, type ByteRange, type Storage } from '../storage.ts'

/**
 * createLocalStorage keeps objects as files under `root` (DATA_DIR/files). A put writes a
 * temporary file beside its target, flushes it to disk and renames it into place, so a crash or a
 * refused upload never leaves a partial object under the key.
 */
export function createLocalStorage (root: string): Storage {
  const base = resolve(root)
  function pathOf (key: string): string {
    assertStorageKey(key)
    const path = resolve(join(base, key))
    // assertStorageKey already refuses `..`; this is the second lock on the same door.
    if (!path.startsWith(base + sep)) throw new Error(`Storage key escapes the storage root: ${key}`)
    return path
  }
  const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT'

  return {
    kind: 'local',
    async put (key, body) {
      const path = pathOf(key)
      await mkdir(dirname(path), { recursive: true })
      const temp = `${path}.${newId()}.part`
      try {
        await pipeline(body, createWriteStream(temp, { flags: 'wx' }))
        const handle = await open(temp, 'r')
        try { await handle.sync() } finally { await handle.close() }
        await rename(temp, path)
      } catch (err) {
        await rm(temp, { force: true })
        throw err
      }
      return { size: (await stat(path)).size }
    },
    async get (key, range?: ByteRange): Promise<Readable> {
      const path = pathOf(key)
      // Opened before the stream is handed out, so a missing file is an error here, not a broken reply.
      const handle = await open(path, 'r').catch((err: unknown) => { throw missing(err) ? new StorageNotFoundError(key) : err })
      return handle.createReadStream({ start: range?.start, end: range?.end })
    },
    async size (key) {
      try {
        return (await stat(pathOf(key))).size
      } catch (err) {
        if (missing(err)) return undefined
        throw err
      }
    },
    async delete (key) {
      await rm(pathOf(key), { force: true })
    },
    async close () {}
  }
}
