import { defineErrors } from '../../platform/errors.ts'

/** instanceErrors are the instance module's error codes. */
export const instanceErrors = defineErrors({
  INSTANCE_NOT_SEEDED: [503, 'This instance has not been initialised yet; run `backplane seed` or restart it']
})
