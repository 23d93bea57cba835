import { defineErrors } from '../../platform/errors.ts'

/** adminErrors are the admin module's codes. */
export const adminErrors = defineErrors({
  DEAD_LETTER_NOT_FOUND: [404, 'No dead letter with this id in this queue'],
  CONSOLE_NOT_BUILT: [503, 'The admin console is not built']
})
