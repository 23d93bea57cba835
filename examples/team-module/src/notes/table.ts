import { index, pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from 'backplane'

/** notes are short texts a signed-in user keeps; each belongs to its author. */
export const notes = pgTable('team_notes', {
  ...baseColumns(),
  // No foreign key to Backplane's users: a team's migration never depends on Backplane's table names.
  authorId: uuid('author_id').notNull(),
  body: text('body').notNull()
}, (t) => [index('team_notes_author_idx').on(t.authorId, t.createdAt)])

/** NoteRow is a stored note. */
export type NoteRow = typeof notes.$inferSelect
