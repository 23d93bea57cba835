import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLocalStorage } from './adapters/local-storage.ts'
import { createS3Storage } from './adapters/s3-storage.ts'
import { parseStorageUrl } from '../lib/storage-url.ts'
import { startTestS3 } from '../../test/helpers/s3.ts'
import { StorageNotFoundError, type Storage } from './storage.ts'

const dirs: string[] = []
async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bp-storage-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => { await Promise.all(dirs.map(async (d) => rm(d, { recursive: true, force: true }))) })

// Several parts of the S3 adapter's multipart upload (8 MiB each) and several reads of the local one.
const BIG = 20 * 1024 * 1024

function failingAfter (bytes: number): Readable {
  let sent = 0
  return new Readable({
    read () {
      if (sent >= bytes) {
        this.destroy(new Error('client went away'))
        return
      }
      sent += 64 * 1024
      this.push(Buffer.alloc(64 * 1024, 7))
    }
  })
}

/** The one contract both adapters keep; each describe below runs it against a real backend. */
function contract (name: string, open: () => Promise<{ storage: Storage, listed: () => Promise<string[]> }>) {
  describe(`${name} storage adapter`, () => {
    let storage: Storage
    let listed: () => Promise<string[]>
    beforeAll(async () => { ({ storage, listed } = await open()) })
    afterAll(async () => { await storage.close() })

    it('stores, reads whole and in ranges, sizes and deletes an object', async () => {
      expect(await storage.put('files/aa/one', Readable.from([Buffer.from('hello '), Buffer.from('world')]), 'text/plain')).toEqual({ size: 11 })
      expect(await text(await storage.get('files/aa/one'))).toBe('hello world')
      expect(await text(await storage.get('files/aa/one', { start: 2, end: 4 }))).toBe('llo')
      expect(await text(await storage.get('files/aa/one', { start: 6, end: 10 }))).toBe('world')
      expect(await storage.size('files/aa/one')).toBe(11)
      await storage.delete('files/aa/one')
      expect(await storage.size('files/aa/one')).toBeUndefined()
      await expect(storage.get('files/aa/one')).rejects.toBeInstanceOf(StorageNotFoundError)
      // Deleting again succeeds: the sweeper may retry a deletion a crash interrupted.
      await storage.delete('files/aa/one')
    })

    it('streams a large object in and out with its exact bytes', async () => {
      const chunks = Array.from({ length: BIG / (1024 * 1024) }, (_, i) => Buffer.alloc(1024 * 1024, i))
      expect(await storage.put('files/bb/big', Readable.from(chunks), 'application/octet-stream')).toEqual({ size: BIG })
      const tail = await storage.get('files/bb/big', { start: BIG - 3, end: BIG - 1 })
      const bytes: Buffer[] = []
      for await (const chunk of tail) bytes.push(chunk as Buffer)
      expect([...Buffer.concat(bytes)]).toEqual([19, 19, 19])
      expect(await storage.size('files/bb/big')).toBe(BIG)
      await storage.delete('files/bb/big')
    })

    it('leaves nothing under the key when the body fails midway', async () => {
      await expect(storage.put('files/cc/broken', failingAfter(10 * 1024 * 1024), 'application/octet-stream')).rejects.toThrow(/client went away/)
      expect(await storage.size('files/cc/broken')).toBeUndefined()
      expect((await listed()).filter((k) => k.includes('broken'))).toEqual([])
    })

    it('refuses keys that could leave the storage root', async () => {
      for (const key of ['../escape', 'files/../../escape', '/abs', 'files//x', 'files/./x', 'a\\b', '']) {
        await expect(storage.put(key, Readable.from([Buffer.from('x')]), 'text/plain'), key).rejects.toThrow(/Invalid storage key/)
      }
    })
  })
}

contract('local', async () => {
  const root = await tempDir()
  const listed = async () => (await readdir(root, { recursive: true })).map(String)
  return { storage: createLocalStorage(root), listed }
})

contract('S3', async () => {
  const s3 = await startTestS3()
  const settings = parseStorageUrl(s3.storageUrl.replace('/backplane?', '/backplane/test?'))!
  expect(settings.prefix).toBe('test/')
  const storage = createS3Storage(settings)
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: settings.credentials })
  const listed = async () => ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).Contents ?? []).map((o) => o.Key ?? '')
  return {
    storage: {
      ...storage,
      async close () {
        await storage.close()
        client.destroy()
        await s3.close()
      }
    },
    listed
  }
})
