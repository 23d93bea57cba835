import type { DomainEvent } from 'backplane'
import type { NoteRow } from './table.ts'

/** noteEvent describes a note's change on its author's channel (the body stays out: it may be private and large). */
export function noteEvent (type: 'note.created', note: NoteRow): DomainEvent {
  return { type, aggregate: `note:${note.id}`, channels: [`user:${note.authorId}`], data: { id: note.id } }
}
