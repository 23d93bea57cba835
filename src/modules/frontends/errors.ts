import { defineErrors } from '../../platform/errors.ts'

/** frontendErrors are the frontends module's codes: the registry's refusals and the runtime's. */
export const frontendErrors = defineErrors({
  FRONTEND_NOT_FOUND: [404, 'Frontend not found'],
  FRONTEND_NAME_TAKEN: [409, 'A frontend with this name exists already'],
  FRONTEND_LIMIT: [409, 'The registry holds the maximum number of frontends; delete one first'],
  FRONTEND_RATE_TIER_UNKNOWN: [400, 'This rate tier is not defined in FRONTEND_RATE_TIERS'],
  FRONTEND_ORIGIN_INVALID: [400, 'An origin must be scheme://host[:port], with no path, wildcard or credentials'],
  FRONTEND_KEY_INVALID: [401, 'The X-Frontend-Key is not the key of an enabled frontend'],
  FRONTEND_ORIGIN_FORBIDDEN: [403, 'This frontend key may not be used from this origin']
})
