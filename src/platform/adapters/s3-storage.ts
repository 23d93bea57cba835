import { Transform, type Readable } from 'node:stream'
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { S3Location } from '../../lib/storage-url.ts'
import { assertStorageKey, StorageNotFoundError, type Storage } from '../storage.ts'

/** S3Settings are the parts of STORAGE_URL: where the store is, which bucket, how to sign. */
export type S3Settings = S3Location

/** PART_BYTES is the multipart part size: memory held per upload is at most PART_BYTES × QUEUE_SIZE. */
const PART_BYTES = 8 * 1024 * 1024
const QUEUE_SIZE = 2

/**
 * createS3Storage keeps objects in an S3-compatible bucket. A put streams the body into a
 * multipart upload (lib-storage's Upload: parts of 8 MiB, two in flight), which is aborted when the
 * body errors, so a refused upload leaves no object behind.
 */
export function createS3Storage (settings: S3Settings): Storage {
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    // A copy: the settings are frozen, and the SDK marks the credentials object it is given.
    credentials: settings.credentials ? { ...settings.credentials } : undefined,
    // Checksums only where the API requires them: many S3-compatible stores reject the newer default trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const Bucket = settings.bucket
  const keyOf = (key: string) => {
    assertStorageKey(key)
    return settings.prefix + key
  }
  const isMissing = (err: unknown) => err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound')

  return {
    kind: 's3',
    async put (key, body, contentType) {
      let size = 0
      const counted = new Transform({ transform (chunk: Buffer, _enc, done) { size += chunk.length; done(null, chunk) } })
      // A body that errors (a limit, a hang-up) must abort the multipart upload rather than complete it short.
      const failed = new Promise<never>((_resolve, reject) => {
        body.once('error', reject)
        counted.once('error', reject)
      })
      failed.catch(() => {})
      body.once('error', (err) => counted.destroy(err))
      body.pipe(counted)
      const upload = new Upload({ client, params: { Bucket, Key: keyOf(key), Body: counted, ContentType: contentType }, partSize: PART_BYTES, queueSize: QUEUE_SIZE, leavePartsOnError: false })
      try {
        await Promise.race([upload.done(), failed])
      } catch (err) {
        await upload.abort().catch(() => {})
        await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) })).catch(() => {})
        throw err
      }
      return { size }
    },
    async get (key, range) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }))
        return res.Body as Readable
      } catch (err) {
        if (isMissing(err)) throw new StorageNotFoundError(key)
        throw err
      }
    },
    async size (key) {
      try {
        return (await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }))).ContentLength
      } catch (err) {
        if (isMissing(err)) return undefined
        throw err
      }
    },
    async delete (key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) }))
    },
    async close () { client.destroy() }
  }
}
