import type { IncomingMessage } from 'node:http'
import { pipeline, Transform, type Readable } from 'node:stream'

/** UploadBounds are an upload's own time limits (FILES_UPLOAD_TIMEOUT_MS, FILES_UPLOAD_IDLE_TIMEOUT_MS). */
export interface UploadBounds { totalMs: number, idleMs: number }

/**
 * boundedBody is an upload's request body under its own bounds, in place of REQUEST_TIMEOUT_MS
 * (upload routes declare `bodyTimeout: 'own'`, platform/body-timeout.ts): a client that sends
 * nothing for `idleMs`, or is still sending after `totalMs`, has its connection closed (the upload
 * then fails as incomplete and its row and bytes are discarded). A steady slow upload is never cut.
 */
export function boundedBody (raw: IncomingMessage, bounds: UploadBounds): Readable {
  const drop = () => { raw.socket?.destroy() }
  const idle = setTimeout(drop, bounds.idleMs).unref()
  const total = setTimeout(drop, bounds.totalMs).unref()
  const stop = () => {
    clearTimeout(idle)
    clearTimeout(total)
  }
  const watched = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      idle.refresh()
      done(null, chunk)
    }
  })
  pipeline(raw, watched, stop)
  watched.once('close', stop)
  return watched
}
