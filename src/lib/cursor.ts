import { createHmac, timingSafeEqual } from 'node:crypto'
import { isId } from './ids.ts'

/** KeysetPosition is the last row of a page: its sort value (a time or a name) and its id, the tie-breaker. */
export interface KeysetPosition { value: string, id: string }

/** Cursor is a position in a list ordered by (created_at, id): the row's time (ISO 8601) and id. */
export interface Cursor { at: string, id: string }

/** Page is one page of a list and the cursor of the next one (null on the last page). */
export interface Page<V> { items: V[], nextCursor: string | null }

/**
 * CursorCodec makes and reads the opaque, signed `nextCursor` strings of every list. A scope names
 * the list a cursor belongs to (its sort, and the user, project or parent it is paged for).
 */
export interface CursorCodec {
  encode: (scope: string, position: KeysetPosition) => string
  /** read returns the position of a `cursor` query value (undefined without one); a cursor tampered with or made for another scope throws. */
  read: (scope: string, text: string | undefined) => KeysetPosition | undefined
  /** after is read for a list ordered by (created_at, id). */
  after: (scope: string, text: string | undefined) => Cursor | undefined
  /** pageOf cuts the rows of a keyset query (fetched with `limit + 1`) into a page and the signed cursor of the next one. */
  pageOf: <R extends { createdAt: Date, id: string }, V>(scope: string, rows: R[], limit: number, view: (row: R) => V) => Page<V>
}

/**
 * createCursorCodec signs cursors with HMAC-SHA256 over their scope and position. A cursor is then
 * only ever read back in the list it came from: one edited, forged, or copied from another list,
 * sort, user or project is refused, and the values a query receives are always ones the server
 * wrote itself.
 */
export function createCursorCodec (key: () => Buffer, invalid: () => Error): CursorCodec {
  const mac = (scope: string, body: string) => createHmac('sha256', key()).update(scope).update('\n').update(body).digest()
  const encode = (scope: string, { value, id }: KeysetPosition) => {
    const body = Buffer.from(JSON.stringify([value, id])).toString('base64url')
    return `${body}.${mac(scope, body).toString('base64url')}`
  }
  const decode = (scope: string, text: string): KeysetPosition | undefined => {
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
  const read = (scope: string, text: string | undefined) => {
    if (text === undefined) return undefined
    const position = decode(scope, text)
    if (!position) throw invalid()
    return position
  }
  return {
    encode,
    read,
    after (scope, text) {
      const position = read(scope, text)
      if (!position) return undefined
      if (Number.isNaN(Date.parse(position.value))) throw invalid()
      return { at: position.value, id: position.id }
    },
    pageOf (scope, rows, limit, view) {
      const items = rows.slice(0, limit)
      const last = items.at(-1)
      return { items: items.map(view), nextCursor: rows.length > limit && last ? encode(scope, { value: last.createdAt.toISOString(), id: last.id }) : null }
    }
  }
}
