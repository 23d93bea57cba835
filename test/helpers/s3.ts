import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'

/** TestS3 is an S3-compatible server on loopback (s3rver, from the npm registry) with one bucket. */
export interface TestS3 {
  endpoint: string
  bucket: string
  /** storageUrl is the STORAGE_URL that points Backplane at it. */
  storageUrl: string
  close: () => Promise<void>
}

/** startTestS3 starts a real S3 server on a free loopback port, its objects in a temporary folder. */
export async function startTestS3 (bucket = 'backplane'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'bp-s3-'))
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    bucket,
    // s3rver accepts any signature from its default key pair.
    storageUrl: `s3+http://S3RVER:S3RVER@127.0.0.1:${port}/${bucket}?path_style=true`,
    async close () {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    }
  }
}
