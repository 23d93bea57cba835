import type { Readable } from 'node:stream'
import { join } from 'node:path'
import type { Config } from '../config.ts'

/** ByteRange is an inclusive byte range of a stored object, as HTTP `Range: bytes=start-end` names it. */
export interface ByteRange { start: number, end: number }

/** StoredObject is what a completed put wrote: its size in bytes. */
export interface StoredObject { size: number }

/**
 * Storage is the file storage port: the files module streams bytes in and out through it and never
 * sees the adapter (local disk under DATA_DIR, or any S3-compatible store). Keys are opaque,
 * chosen by the caller from `[A-Za-z0-9/_.-]`, never from a user's file name.
 */
export interface Storage {
  /** kind names the adapter, for logs and the health page. */
  readonly kind: 'local' | 's3'
  /**
   * put streams `body` to `key` with bounded memory. The object appears whole or not at all: when
   * the body stream errors (a limit, a client hang-up) nothing is left under the key.
   */
  put: (key: string, body: Readable, contentType: string) => Promise<StoredObject>
  /** get streams the object, or the inclusive `range` of it; throws StorageNotFoundError for a missing key. */
  get: (key: string, range?: ByteRange) => Promise<Readable>
  /** size is the object's length in bytes, or undefined when there is no such object. */
  size: (key: string) => Promise<number | undefined>
  /** delete removes the object; deleting a missing key succeeds (the sweeper retries deletions). */
  delete: (key: string) => Promise<void>
  /** close releases connections. */
  close: () => Promise<void>
}

/** StorageNotFoundError is thrown by `get` for a key that holds nothing. */
export class StorageNotFoundError extends Error {
  constructor (key: string) {
    super(`No stored object under ${key}`)
    this.name = 'StorageNotFoundError'
  }
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9/_.-]{0,511}$/

/** assertStorageKey refuses a key that could climb out of its root or name nothing (`..`, leading `/`, odd characters). */
export function assertStorageKey (key: string): void {
  if (!KEY.test(key) || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`Invalid storage key: ${JSON.stringify(key)}`)
  }
}

/** createStorage picks the adapter from the settings once at start-up: S3 when STORAGE_URL is set, else local disk under DATA_DIR. */
export async function createStorage (config: Config): Promise<Storage> {
  const s3 = config.storage.s3
  if (s3) {
    const { createS3Storage } = await import('./adapters/s3-storage.ts')
    return createS3Storage(s3)
  }
  const { createLocalStorage } = await import('./adapters/local-storage.ts')
  return createLocalStorage(join(config.dataDir, 'files'))
}
