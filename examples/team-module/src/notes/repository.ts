import { and, eq } from 'drizzle-orm'
import type { Database } from 'backplane'
import { notes, type NoteRow } from './table.ts'

/** createNotesRepository holds the notes queries: Drizzle only, no rules. */
export function createNotesRepository (db: Database) {
  return {
    async insert (values: { authorId: string, body: string }, tx: Database = db): Promise<NoteRow> {
      const [row] = await tx.insert(notes).values(values).returning()
      return row!
    },
    async findOwned (authorId: string, id: string): Promise<NoteRow | undefined> {
      const [row] = await db.select().from(notes).where(and(eq(notes.id, id), eq(notes.authorId, authorId)))
      return row
    }
  }
}
