import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { resolveContentType, SNIFF_BYTES } from './content-type.ts'

/** IntakeResult is what an upload measured as it streamed through. */
export interface IntakeResult { size: number, sha256: string, contentType: string }

/**
 * createIntake is the stream an upload passes through on its way to storage, holding at most the
 * first SNIFF_BYTES in memory: it counts bytes and fails with `tooLarge()` past `limit`, hashes
 * them (SHA-256), and lets nothing through until the first bytes matched the declared type.
 */
export function createIntake (options: { limit: number, tooLarge: () => Error, declared: string | undefined }) {
  const hash = createHash('sha256')
  let size = 0
  let held: Buffer[] = []
  let heldBytes = 0
  let contentType: string | undefined

  async function release (stream: Transform): Promise<void> {
    const head = Buffer.concat(held)
    contentType = await resolveContentType(options.declared, head.subarray(0, SNIFF_BYTES))
    for (const chunk of held) stream.push(chunk)
    held = []
  }

  const stream = new Transform({
    transform (chunk: Buffer, _encoding, done: TransformCallback) {
      size += chunk.length
      if (size > options.limit) {
        done(options.tooLarge())
        return
      }
      hash.update(chunk)
      if (contentType !== undefined) {
        done(null, chunk)
        return
      }
      held.push(chunk)
      heldBytes += chunk.length
      if (heldBytes < SNIFF_BYTES) {
        done()
        return
      }
      release(this).then(() => { done() }, done)
    },
    flush (done: TransformCallback) {
      if (contentType !== undefined) {
        done()
        return
      }
      release(this).then(() => { done() }, done)
    }
  })

  return {
    stream,
    /** result is valid once the stream has ended. */
    result: (): IntakeResult => ({ size, sha256: hash.digest('hex'), contentType: contentType ?? 'application/octet-stream' })
  }
}
