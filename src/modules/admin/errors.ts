import { defineErrors } from '../../platform/errors.ts'

/** adminErrors are the admin module's codes. */
export const adminErrors = defineErrors({
  DEAD_LETTER_NOT_FOUND: [404, 'No dead letter with this id in this queue']
})
