import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import type { MfaService } from './mfa-service.ts'
import {
  AccessTokenSchema, MfaChallengeOnlySchema, MfaForcedConfirmSchema, MfaStatusSchema, MfaVerifySchema, PasswordOnlySchema,
  ReauthenticateSchema, RecoveryCodesSchema, SignedInWithCodesSchema, TotpCodeSchema, TotpEnrolmentSchema
} from './mfa-schemas.ts'
import { contextOf } from './routes.ts'
import { TokenPairSchema } from './schemas.ts'
import type { AuthService } from './service.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 409: ProblemSchema, 429: ProblemSchema }
const tags = ['mfa']

/** mfaRoutes serve the second sign-in step, forced enrolment, re-authentication and the user's own TOTP settings. */
export function mfaRoutes (mfa: MfaService, auth: AuthService, stepUpSeconds: number): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>()
    const strict = { access: 'public' as const, rateLimitTier: 'auth' as const }
    const sensitive = { access: 'user' as const, rateLimitTier: 'auth' as const }

    app.post('/api/v1/auth/mfa/verify', {
      config: strict,
      schema: { tags, operationId: 'verifyMfa', summary: 'Second sign-in step: a TOTP code or a recovery code for the challenge', body: MfaVerifySchema, response: { 200: TokenPairSchema, ...problems } }
    }, async (request) => {
      const ctx = contextOf(request)
      const passed = await mfa.verify(request.body, ctx)
      return auth.startSession(passed.userId, passed.audience, ctx, passed.method)
    })

    app.post('/api/v1/auth/mfa/enrolment', {
      config: strict,
      schema: { tags, operationId: 'beginRequiredMfaEnrolment', summary: 'Required but not enrolled: a TOTP secret and QR code for the sign-in challenge', body: MfaChallengeOnlySchema, response: { 200: TotpEnrolmentSchema, ...problems } }
    }, async (request) => mfa.beginForcedEnrolment(request.body.challengeToken))

    app.post('/api/v1/auth/mfa/enrolment/confirm', {
      config: strict,
      schema: { tags, operationId: 'confirmRequiredMfaEnrolment', summary: 'Confirm the first code of a required enrolment: the session starts and the recovery codes are shown once', body: MfaForcedConfirmSchema, response: { 200: SignedInWithCodesSchema, ...problems } }
    }, async (request) => {
      const ctx = contextOf(request)
      const { recoveryCodes, ...passed } = await mfa.confirmForcedEnrolment(request.body.challengeToken, request.body.code, ctx)
      return { ...(await auth.startSession(passed.userId, passed.audience, ctx, passed.method)), recoveryCodes }
    })

    app.post('/api/v1/auth/reauthenticate', {
      config: sensitive,
      schema: { tags, operationId: 'reauthenticate', summary: 'Prove the password (and TOTP code) again: the session counts as recently authenticated (step-up)', body: ReauthenticateSchema, response: { 200: AccessTokenSchema, ...problems } }
    }, async (request) => {
      const actor = actorOf(request)
      return auth.reauthenticate(actor.userId, actor.sessionId!, request.body, contextOf(request))
    })

    app.get('/api/v1/users/me/mfa', {
      config: { access: 'user' },
      schema: { tags, operationId: 'getMyMfa', summary: 'Whether two-factor sign-in is on, and how many recovery codes are left', response: { 200: MfaStatusSchema, ...problems } }
    }, async (request) => mfa.status(actorOf(request).userId))

    app.post('/api/v1/users/me/mfa/totp', {
      config: sensitive,
      schema: { tags, operationId: 'beginMfaEnrolment', summary: 'Start TOTP enrolment: a new secret, its otpauth URI and QR code (recent sign-in required)', response: { 200: TotpEnrolmentSchema, ...problems } }
    }, async (request) => {
      requireRecentAuth(request, stepUpSeconds)
      return mfa.beginEnrolment(actorOf(request).userId)
    })

    app.post('/api/v1/users/me/mfa/totp/confirm', {
      config: sensitive,
      schema: { tags, operationId: 'confirmMfaEnrolment', summary: 'Turn TOTP on with the first code; the recovery codes are shown this once', body: TotpCodeSchema, response: { 200: RecoveryCodesSchema, ...problems } }
    }, async (request) => {
      requireRecentAuth(request, stepUpSeconds)
      return { recoveryCodes: await mfa.confirmEnrolment(actorOf(request).userId, request.body.code, contextOf(request)) }
    })

    app.post('/api/v1/users/me/mfa/recovery-codes', {
      config: sensitive,
      schema: { tags, operationId: 'regenerateRecoveryCodes', summary: 'Replace every recovery code (recent sign-in required); the new ones are shown this once', response: { 200: RecoveryCodesSchema, ...problems } }
    }, async (request) => {
      requireRecentAuth(request, stepUpSeconds)
      return { recoveryCodes: await mfa.regenerateRecoveryCodes(actorOf(request).userId, contextOf(request)) }
    })

    app.post('/api/v1/users/me/mfa/disable', {
      config: sensitive,
      schema: { tags, operationId: 'disableMfa', summary: 'Turn two-factor sign-in off: the password again and a recent sign-in', body: PasswordOnlySchema, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      requireRecentAuth(request, stepUpSeconds)
      const ctx = contextOf(request)
      await auth.checkCurrentPassword(actorOf(request).userId, request.body.password, 'mfa.disable', ctx)
      await mfa.disable(actorOf(request).userId, ctx)
      return reply.code(204).send(null)
    })
  }
}
