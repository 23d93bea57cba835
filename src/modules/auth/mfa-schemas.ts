import { Type } from 'typebox'
import { TokenPairSchema } from './schemas.ts'

const ChallengeToken = Type.String({ minLength: 1, maxLength: 256, description: 'The challengeToken of the sign-in reply' })
const TotpCode = Type.String({ pattern: '^[0-9]{6}$', minLength: 6, maxLength: 6, description: 'The 6-digit code of the authenticator app' })
const RecoveryCode = Type.String({ minLength: 8, maxLength: 32, description: 'One of the recovery codes (XXXX-XXXX-XXXX), usable once' })
const RecoveryCodes = Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10, description: 'Single-use recovery codes: shown this once, store them safely' })

/** MfaPendingSchema is the reply of a right password when a second step is due (202): no session yet. */
export const MfaPendingSchema = Type.Object({
  status: Type.Union([Type.Literal('mfa_required'), Type.Literal('mfa_enrolment_required')]),
  challengeToken: Type.String(),
  expiresIn: Type.Integer({ description: 'Seconds the challenge stays valid' }),
  methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('recovery_code')]), { maxItems: 2 })
}, { additionalProperties: false })

/** MfaVerifySchema answers a second-factor challenge with a TOTP code or a recovery code. */
export const MfaVerifySchema = Type.Object({
  challengeToken: ChallengeToken,
  code: Type.Optional(TotpCode),
  recoveryCode: Type.Optional(RecoveryCode)
}, { additionalProperties: false })

/** MfaChallengeOnlySchema starts a forced enrolment with its challenge. */
export const MfaChallengeOnlySchema = Type.Object({ challengeToken: ChallengeToken }, { additionalProperties: false })

/** MfaForcedConfirmSchema confirms a forced enrolment with the first code. */
export const MfaForcedConfirmSchema = Type.Object({ challengeToken: ChallengeToken, code: TotpCode }, { additionalProperties: false })

/** TotpCodeSchema carries one TOTP code. */
export const TotpCodeSchema = Type.Object({ code: TotpCode }, { additionalProperties: false })

/** TotpEnrolmentSchema is what the user scans: the secret, its otpauth:// URI and a QR code of it. */
export const TotpEnrolmentSchema = Type.Object({
  secret: Type.String({ description: 'Base32 secret, for typing into an app by hand' }),
  otpauthUri: Type.String(),
  qrDataUrl: Type.String({ description: 'The otpauth URI as a QR code: an SVG data URL for an <img src>' })
}, { additionalProperties: false })

/** RecoveryCodesSchema is a fresh set of recovery codes. */
export const RecoveryCodesSchema = Type.Object({ recoveryCodes: RecoveryCodes }, { additionalProperties: false })

/** SignedInWithCodesSchema is a session started by a forced enrolment, with the recovery codes shown once. */
export const SignedInWithCodesSchema = Type.Object({ ...TokenPairSchema.properties, recoveryCodes: RecoveryCodes }, { additionalProperties: false })

/** MfaStatusSchema says whether TOTP is on, how many recovery codes are left, and whether the policy requires MFA. */
export const MfaStatusSchema = Type.Object({
  totp: Type.Boolean(),
  recoveryCodesLeft: Type.Integer(),
  required: Type.Boolean()
}, { additionalProperties: false })

/** PasswordOnlySchema re-proves the password (turning MFA off). */
export const PasswordOnlySchema = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false })

/** ReauthenticateSchema is step-up: the password, and the TOTP code when two-factor sign-in is on. */
export const ReauthenticateSchema = Type.Object({
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  code: Type.Optional(TotpCode)
}, { additionalProperties: false })

/** AccessTokenSchema is a fresh access token for the same session (after re-authentication). */
export const AccessTokenSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer()
}, { additionalProperties: false })
