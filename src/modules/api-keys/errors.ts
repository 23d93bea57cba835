import { defineErrors } from '../../platform/errors.ts'

/** apiKeyErrors are the API keys module's codes; another user's key is "not found", like a missing one. */
export const apiKeyErrors = defineErrors({
  API_KEY_NOT_FOUND: [404, 'API key not found'],
  API_KEY_SCOPE_NOT_HELD: [400, 'A key can only carry permissions its owner holds'],
  API_KEY_EXPIRY_PAST: [400, 'expiresAt must be in the future'],
  API_KEY_LIMIT: [409, 'You have reached the maximum number of active API keys; revoke one first'],
  API_KEY_REVOKED: [409, 'This key is revoked; create a new one'],
  API_KEY_EXPIRED: [409, 'This key has expired; create a new one'],
  API_KEY_CHANGED: [409, 'The key changed while rotating it; fetch it and retry'],
  CREDENTIALS_AMBIGUOUS: [400, 'Send either an Authorization bearer token or an X-API-Key, not both']
})
