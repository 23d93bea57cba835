/** Cursor is a position in a list ordered by (created_at, id), opaque to clients. */
export interface Cursor { at: string, id: string }

/** encodeCursor makes the opaque `nextCursor` string for the last item of a page. */
export function encodeCursor (at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url')
}

/** decodeCursor reads a cursor back; a tampered or foreign cursor gives undefined (the caller answers 400). */
export function decodeCursor (text: string): Cursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined
    const [at, id] = parsed as unknown[]
    if (typeof at !== 'string' || typeof id !== 'string') return undefined
    if (Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) return undefined
    return { at, id }
  } catch {
    return undefined
  }
}

/** pageOf cuts the rows of a keyset query (fetched with `limit + 1`) into a page and the cursor of the next one. */
export function pageOf<R extends { createdAt: Date, id: string }, V> (rows: R[], limit: number, view: (row: R) => V): { items: V[], nextCursor: string | null } {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items: items.map(view), nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null }
}
