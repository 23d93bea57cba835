import { Type, type Static } from 'typebox'

/** NoteSchema is a note as the API returns it. */
export const NoteSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  body: Type.String(),
  createdAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

/** CreateNoteSchema is the body of `POST /api/v1/notes`. */
export const CreateNoteSchema = Type.Object({ body: Type.String({ minLength: 1, maxLength: 10_000 }) }, { additionalProperties: false })

/** NoteIdParams is the `:id` of a note's URL. */
export const NoteIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })

/** Note is a note as the API returns it. */
export type Note = Static<typeof NoteSchema>

/** CreateNoteInput is a validated create body. */
export type CreateNoteInput = Static<typeof CreateNoteSchema>
