import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { Type } from 'typebox'
import type { Config } from '../../config.ts'
import type { Mailer } from '../../platform/mailer.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { SecurityEvents } from '../../platform/security-events.ts'
import type { UsersService } from '../users/index.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import { authFlowErrors } from './errors.ts'
import type { OneTimeTokens } from './one-time-tokens.ts'
import { contextOf } from './routes.ts'
import { AcceptedSchema, TokenOnlySchema } from './schemas.ts'
import type { AuthService } from './service.ts'

const ChangeEmailSchema = Type.Object({
  newEmail: Type.String({ format: 'email', minLength: 3, maxLength: 254 }),
  currentPassword: Type.String({ minLength: 1, maxLength: 1024 })
}, { additionalProperties: false })

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 409: ProblemSchema }

/**
 * emailChangeRoutes move an account to a new address: the current password is required, the new
 * address must confirm through a mailed link, and the old address is told at both steps — a
 * stolen access token alone cannot take an account over (SECURITY.md AU-10).
 */
export function emailChangeRoutes ({ config, users, tokens, mailer, events, checkCurrentPassword }: {
  config: Config
  users: UsersService
  tokens: OneTimeTokens
  mailer: Mailer
  events: SecurityEvents
  /** checkCurrentPassword is the auth flows' check (it counts wrong guesses towards the account lock). */
  checkCurrentPassword: AuthService['checkCurrentPassword']
}): FastifyPluginAsync {
  const base = config.auth.linkUrl
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/api/v1/users/me/email', {
      config: { access: 'user', rateLimitTier: 'auth' },
      schema: { tags: ['users'], operationId: 'requestEmailChange', summary: 'Ask to move your account to a new email address', body: ChangeEmailSchema, response: { 202: AcceptedSchema, ...problems } }
    }, async (request, reply) => {
      requireRecentAuth(request, config.auth.stepUpSeconds)
      const { newEmail, currentPassword } = request.body
      const user = await checkCurrentPassword(actorOf(request).userId, currentPassword, 'user.email_change_requested', contextOf(request))
      // A taken address gets the same reply and no link, so this cannot probe for accounts.
      const notice = { to: user.email, subject: 'An email change was requested', text: `Someone signed in to your account asked to move it to ${newEmail}. If this was not you, change your password now.` }
      if (!(await users.findForLogin(newEmail))) {
        // The link and the notice are queued in the token's transaction: both or neither.
        await tokens.create('change_email', { userId: user.id, email: newEmail, ttlMs: 24 * 3600_000 }, async (token, tx) => {
          await mailer.send({ to: newEmail, subject: 'Confirm your new email address', text: `Confirm this address for your account: ${base}/confirm-email-change?token=${token}\nThe link works once, for 24 hours.` }, tx)
          await mailer.send(notice, tx)
        })
      } else {
        await mailer.send(notice)
      }
      events.fromRequest(request, { action: 'user.email_change_requested', outcome: 'success', targetType: 'user', targetId: user.id })
      return reply.code(202).send({ status: 'accepted' as const, message: 'If the new address can be used, a confirmation link was sent to it.' })
    })

    app.post('/api/v1/auth/confirm-email-change', {
      config: { access: 'public', rateLimitTier: 'auth' },
      schema: { tags: ['auth'], operationId: 'confirmEmailChange', summary: 'Confirm a new email address with the mailed token', body: TokenOnlySchema, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const spent = await tokens.consumeWithEmail('change_email', request.body.token)
      if (!spent) throw authFlowErrors.TOKEN_INVALID()
      const before = await users.repo.findById(spent.userId)
      if (!before || before.status !== 'active') throw authFlowErrors.TOKEN_INVALID()
      // The change and its audit row are one transaction (AU-01).
      const changed = { action: 'user.email_changed', outcome: 'success' as const, actorId: spent.userId, actorType: 'user' as const, targetType: 'user', targetId: spent.userId }
      // The notice to the old address is queued in the change's transaction: sent if and only if it commits.
      const notice = { to: before.email, subject: 'Your email address was changed', text: `Your account now uses ${spent.email}. If this was not you, contact your administrator.` }
      await users.changeEmail(spent.userId, spent.email, { context: events.contextOf(request), events: () => [changed], also: (_row, tx) => mailer.send(notice, tx) })
      return reply.code(204).send(null)
    })
  }
}
