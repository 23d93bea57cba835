import type { Config } from '../config.ts'
import { createCursorCodec, type CursorCodec } from '../lib/cursor.ts'
import { deriveKey } from '../lib/secret-box.ts'
import { platformErrors } from './errors.ts'
import { masterSecret } from './master-secret.ts'

const codecs = new WeakMap<Config, CursorCodec>()

/**
 * listCursors is the one cursor codec of every list of an app (one per config): cursors signed
 * with a key derived from the master secret, and a refused cursor answered 400 VALIDATION_FAILED.
 * The key is derived on first use: the master secret may be read from (or written to) the data dir.
 */
export function listCursors (config: Config): CursorCodec {
  let codec = codecs.get(config)
  if (!codec) {
    let key: Buffer | undefined
    codec = createCursorCodec(
      () => (key ??= deriveKey(masterSecret(config), 'list-cursor')),
      () => platformErrors.VALIDATION_FAILED('cursor is not valid for this list; use the nextCursor of a previous page of the same list')
    )
    codecs.set(config, codec)
  }
  return codec
}
