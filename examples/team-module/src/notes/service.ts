import type { Actor, Database, Events } from 'backplane'
import { noteErrors } from './errors.ts'
import { noteEvent } from './events.ts'
import { createNotesRepository } from './repository.ts'
import type { CreateNoteInput, Note } from './schemas.ts'
import { toNote } from './view.ts'

/** createNotesService holds the note rules: a note is its author's alone; it never sees HTTP. */
export function createNotesService ({ db, events }: { db: Database, events: Events }) {
  const repo = createNotesRepository(db)
  return {
    /** create stores a note and its `note.created` event in one transaction. */
    async create (actor: Actor, input: CreateNoteInput): Promise<Note> {
      const row = await db.transaction(async (tx) => {
        const row = await repo.insert({ authorId: actor.userId, body: input.body }, tx)
        await events.record(noteEvent('note.created', row), tx)
        return row
      })
      return toNote(row)
    },
    /** get returns one of the actor's notes; another author's note is a 404, as a missing one. */
    async get (actor: Actor, id: string): Promise<Note> {
      const row = await repo.findOwned(actor.userId, id)
      if (!row) throw noteErrors.NOTE_NOT_FOUND()
      return toNote(row)
    }
  }
}

/** NotesService is the notes module's service. */
export type NotesService = ReturnType<typeof createNotesService>
