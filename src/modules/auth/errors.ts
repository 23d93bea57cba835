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

/** mfaErrors are the two-factor codes; a wrong code and a replayed one share one body. */
export const mfaErrors = defineErrors({
  MFA_CHALLENGE_INVALID: [401, 'This sign-in step is invalid, expired or already used; sign in again'],
  MFA_CODE_INVALID: [401, 'The code is incorrect or was already used'],
  MFA_LOCKED: [401, 'Too many failed attempts: the account is locked for 15 minutes'],
  MFA_ALREADY_ENABLED: [409, 'Two-factor sign-in is already on; disable it first to enrol a new authenticator'],
  MFA_NOT_ENABLED: [409, 'Two-factor sign-in is not on for this account'],
  MFA_ENROLMENT_NOT_STARTED: [409, 'Start the enrolment first (POST /api/v1/users/me/mfa/totp)'],
  MFA_REQUIRED_BY_POLICY: [409, 'Two-factor sign-in is required for this account (AUTH_MFA_REQUIRED) and cannot be turned off']
})

/** oidcErrors are the codes of sign-in through OpenID Connect providers. */
export const oidcErrors = defineErrors({
  OIDC_PROVIDER_NOT_FOUND: [404, 'No enabled identity provider by this name'],
  OIDC_PROVIDER_INVALID: [400, 'The identity provider settings are not valid'],
  OIDC_DISCOVERY_FAILED: [502, 'The identity provider could not be reached or its discovery document is not valid'],
  OIDC_RETURN_NOT_ALLOWED: [400, 'returnTo must be a URL on a registered frontend origin (or PUBLIC_URL)'],
  OIDC_STATE_INVALID: [400, 'This sign-in attempt is unknown, expired or already used (state); start again'],
  OIDC_CODE_INVALID: [400, 'This sign-in code is invalid, expired or already used'],
  OIDC_LINK_INVALID: [400, 'This link confirmation is invalid, expired or already used'],
  OIDC_IDENTITY_NOT_FOUND: [404, 'Linked identity not found'],
  LAST_SIGN_IN_METHOD: [409, 'This is your last way to sign in: set a password or link another provider first']
})

/** passkeyErrors are the WebAuthn codes; every failed verification shares one body. */
export const passkeyErrors = defineErrors({
  PASSKEY_INVALID: [401, 'The passkey could not be verified; try again'],
  PASSKEY_NOT_FOUND: [404, 'Passkey not found']
})
