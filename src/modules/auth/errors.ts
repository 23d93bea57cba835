import { defineErrors } from '../../platform/errors.ts'

/** authFlowErrors are the sign-in flows' codes; login failures share one body whatever the cause. */
export const authFlowErrors = defineErrors({
  LOGIN_FAILED: [401, 'Email or password is incorrect'],
  REFRESH_INVALID: [401, 'The refresh token is invalid or expired; sign in again'],
  EMAIL_NOT_VERIFIED: [403, 'Verify your email address before signing in'],
  CURRENT_PASSWORD_WRONG: [403, 'The current password is incorrect'],
  WEAK_PASSWORD: [400, 'The password does not meet the requirements'],
  TOKEN_INVALID: [400, 'This link is invalid, expired or already used'],
  REGISTRATION_CLOSED: [403, 'Registration is closed; ask an administrator for an account'],
  INVITATION_REQUIRED: [403, 'Registration is by invitation only'],
  INVITATIONS_OFF: [409, 'Registration is closed (AUTH_REGISTRATION=closed), so an invitation could not be used; create the account with POST /api/v1/admin/users'],
  SESSION_NOT_FOUND: [404, 'Session not found']
})
