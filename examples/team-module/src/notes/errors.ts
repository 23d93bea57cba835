import { defineErrors } from 'backplane'

/** noteErrors are the notes module's closed error catalogue. */
export const noteErrors = defineErrors({
  NOTE_NOT_FOUND: [404, 'Note not found']
})
