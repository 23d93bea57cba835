import { createHmac, timingSafeEqual } from 'node:crypto'
import { isId } from '../../lib/ids.ts'

/** KeysetPosition is the last row of a page: its sort value (a time or a name) and its id, the tie-breaker. */
export interface KeysetPosition { value: string, id: string }

/** CursorCodec makes and reads the opaque, signed `nextCursor` strings of the project lists. */
export interface CursorCodec {
  encode: (scope: string, position: KeysetPosition) => string
  /** decode returns undefined for a cursor that was tampered with or made for another scope. */
  decode: (scope: string, text: string) => KeysetPosition | undefined
}

/**
 * createCursorCodec signs cursors with HMAC-SHA256 over their scope (the sort order and who asked,
 * or the project whose members are paged) and position. A cursor is then only ever read back in the
 * list it came from: one edited, forged, or copied from another sort, user or project is refused,
 * and the values a query receives are always ones the server wrote itself.
 */
export function createCursorCodec (key: () => Buffer): CursorCodec {
  const mac = (scope: string, body: string) => createHmac('sha256', key()).update(scope).update('\n').update(body).digest()
  return {
    encode (scope, { value, id }) {
      const body = Buffer.from(JSON.stringify([value, id])).toString('base64url')
      return `${body}.${mac(scope, body).toString('base64url')}`
    },
    decode (scope, text) {
      const [body, sig, extra] = text.split('.')
      if (!body || !sig || extra !== undefined) return undefined
      const given = Buffer.from(sig, 'base64url')
      const expected = mac(scope, body)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
      try {
        const parsed: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
        if (!Array.isArray(parsed) || parsed.length !== 2) return undefined
        const [value, id] = parsed as unknown[]
        if (typeof value !== 'string' || typeof id !== 'string' || !isId(id)) return undefined
        return { value, id }
      } catch {
        return undefined
      }
    }
  }
}
