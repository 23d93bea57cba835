import type { Note } from './schemas.ts'
import type { NoteRow } from './table.ts'

/** toNote is the only way a stored note leaves the module. */
export function toNote (row: NoteRow): Note {
  return { id: row.id, body: row.body, createdAt: row.createdAt.toISOString() }
}
