import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { UsersService } from '../users/index.ts'
import { UserSchema } from '../users/index.ts'
import type { AuthService, RequestContext } from './service.ts'
import {
  AcceptedSchema, CreateAccountSchema, EmailOnlySchema, LoginSchema, RefreshSchema, RegisterSchema, ResetPasswordSchema, TokenOnlySchema, TokenPairSchema
} from './schemas.ts'
import { MfaPendingSchema } from './mfa-schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 429: ProblemSchema }
const accepted = (message: string) => ({ status: 'accepted' as const, message })

/** contextOf is the plain data a flow may know about its request. */
export function contextOf (request: FastifyRequest): RequestContext {
  return { ip: request.ip, userAgent: request.headers['user-agent'], requestId: request.id, ...(request.frontend ? { frontend: request.frontend } : {}) }
}

/** authRoutes serves registration, sign-in, refresh, sign-out and the mailed-link flows. */
export function authRoutes (auth: AuthService, users: UsersService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, params, query and body are typed from their schemas.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    const strict = { access: 'public' as const, rateLimitTier: 'auth' as const }

    app.post('/api/v1/auth/register', {
      config: strict,
      schema: { tags: ['auth'], operationId: 'register', summary: 'Create an account', description: 'The reply is the same whether or not the address was already registered; then sign in.', body: RegisterSchema, response: { 202: AcceptedSchema, ...problems } }
    }, async (request, reply) => {
      await auth.register(request.body, contextOf(request))
      return reply.code(202).send(accepted('If this address can be registered, the account is ready: sign in (and confirm your address from the mail we sent).'))
    })

    app.post('/api/v1/auth/login', {
      config: strict,
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Sign in with email and password',
        description: '200 is a session. 202 means the password was right but a second step is due (no session yet): `mfa_required` → POST /api/v1/auth/mfa/verify; `mfa_enrolment_required` (AUTH_MFA_REQUIRED) → POST /api/v1/auth/mfa/enrolment, then …/confirm.',
        body: LoginSchema,
        response: { 200: TokenPairSchema, 202: MfaPendingSchema, ...problems }
      }
    }, async (request, reply) => {
      const result = await auth.login(request.body, contextOf(request))
      return 'challengeToken' in result ? reply.code(202).send(result) : result
    })

    app.post('/api/v1/auth/refresh', {
      config: strict,
      schema: { tags: ['auth'], operationId: 'refresh', summary: 'Trade a refresh token for new tokens (rotation)', body: RefreshSchema, response: { 200: TokenPairSchema, ...problems } }
    }, async (request) => auth.refresh(request.body.refreshToken, contextOf(request)))

    app.post('/api/v1/auth/logout', {
      config: { access: 'user' },
      schema: { tags: ['auth'], operationId: 'logout', summary: 'End this session', response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await auth.logout(actorOf(request).userId, actorOf(request).sessionId!, contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/auth/logout-all', {
      config: { access: 'user' },
      schema: { tags: ['auth'], operationId: 'logoutAll', summary: 'End every session of this user', response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await auth.logoutAll(actorOf(request).userId, contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/auth/verify-email', {
      config: { access: 'public' },
      schema: { tags: ['auth'], operationId: 'verifyEmail', summary: 'Confirm an email address with the mailed token', body: TokenOnlySchema, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await auth.verifyEmail(request.body.token, contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/auth/verify-email/resend', {
      config: { access: 'user', rateLimitTier: 'auth' },
      schema: { tags: ['auth'], operationId: 'resendVerification', summary: 'Mail the confirmation link again', response: { 202: AcceptedSchema, ...problems } }
    }, async (request, reply) => {
      await auth.resendVerification(actorOf(request).userId)
      return reply.code(202).send(accepted('If your address is not confirmed yet, a new link is on its way.'))
    })

    app.post('/api/v1/auth/forgot-password', {
      config: strict,
      schema: { tags: ['auth'], operationId: 'forgotPassword', summary: 'Mail a password reset link', body: EmailOnlySchema, response: { 202: AcceptedSchema, ...problems } }
    }, async (request, reply) => {
      await auth.forgotPassword(request.body.email, contextOf(request))
      return reply.code(202).send(accepted('If an account exists for this address, a reset link is on its way.'))
    })

    app.post('/api/v1/auth/reset-password', {
      config: strict,
      schema: { tags: ['auth'], operationId: 'resetPassword', summary: 'Set a new password with the mailed token', body: ResetPasswordSchema, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await auth.resetPassword(request.body, contextOf(request))
      return reply.code(204).send(null)
    })

    app.post('/api/v1/admin/invitations', {
      config: { access: 'user:manage' },
      schema: { tags: ['admin'], operationId: 'inviteUser', summary: 'Mail an invitation to register (AUTH_REGISTRATION=invite)', body: EmailOnlySchema, response: { 202: AcceptedSchema, ...problems } }
    }, async (request, reply) => {
      await auth.invite(request.body.email, actorOf(request).userId, contextOf(request))
      return reply.code(202).send(accepted('Invitation sent.'))
    })

    app.post('/api/v1/admin/users', {
      config: { access: 'user:manage' },
      schema: { tags: ['admin'], operationId: 'createUser', summary: 'Create an account; its owner chooses a password from the mailed link (any AUTH_REGISTRATION)', body: CreateAccountSchema, response: { 201: UserSchema, 409: ProblemSchema, ...problems } }
    }, async (request, reply) => {
      const created = await auth.createAccount(request.body, actorOf(request).userId, contextOf(request))
      return reply.code(201).send(await users.get(created.id))
    })
  }
}
