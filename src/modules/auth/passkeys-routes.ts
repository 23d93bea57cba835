import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { frontendAudience } from '../../platform/frontend-context.ts'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import { IdParams } from './oidc-schemas.ts'
import { PasskeyListSchema, PasskeySchema, PasskeySignInSchema, RegisterPasskeySchema, RenamePasskeySchema, WebAuthnOptionsSchema } from './passkeys-schemas.ts'
import type { PasskeysService } from './passkeys-service.ts'
import { contextOf } from './routes.ts'
import { TokenPairSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 429: ProblemSchema }
const tags = ['passkeys']
const view = (p: Awaited<ReturnType<PasskeysService['list']>>[number]) =>
  ({ id: p.id, name: p.name, backedUp: p.backedUp, createdAt: p.createdAt.toISOString(), lastUsedAt: p.lastUsedAt?.toISOString() ?? null })

/** passkeysRoutes serve passkey sign-in and the user's own passkeys (adding and removing need a recent sign-in). */
export function passkeysRoutes (passkeys: PasskeysService, defaultAudience: string, stepUpSeconds: number): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>()
    const strict = { access: 'public' as const, rateLimitTier: 'auth' as const }

    app.post('/api/v1/auth/passkeys/options', {
      config: strict,
      schema: { tags, operationId: 'passkeySignInOptions', summary: 'Options for navigator.credentials.get() (discoverable credentials)', response: { 200: WebAuthnOptionsSchema, ...problems } }
    }, async (request) => passkeys.authenticationOptions(request.frontend ? frontendAudience(request.frontend) : defaultAudience))

    app.post('/api/v1/auth/passkeys/verify', {
      config: strict,
      schema: { tags, operationId: 'signInWithPasskey', summary: 'Sign in with a passkey assertion', body: PasskeySignInSchema, response: { 200: TokenPairSchema, ...problems } }
    }, async (request) => passkeys.signIn(request.body.response, contextOf(request)))

    app.get('/api/v1/users/me/passkeys', {
      config: { access: 'user' },
      schema: { tags, operationId: 'listMyPasskeys', summary: 'Your passkeys', response: { 200: PasskeyListSchema, ...problems } }
    }, async (request) => ({ items: (await passkeys.list(actorOf(request).userId)).map(view) }))

    app.post('/api/v1/users/me/passkeys/options', {
      config: { access: 'user', rateLimitTier: 'auth' },
      schema: { tags, operationId: 'passkeyRegistrationOptions', summary: 'Options for navigator.credentials.create() (recent sign-in required)', response: { 200: WebAuthnOptionsSchema, ...problems } }
    }, async (request) => {
      requireRecentAuth(request, stepUpSeconds)
      return passkeys.registrationOptions(actorOf(request).userId)
    })

    app.post('/api/v1/users/me/passkeys', {
      config: { access: 'user', rateLimitTier: 'auth' },
      schema: { tags, operationId: 'addPasskey', summary: 'Save the new passkey under a name (recent sign-in required)', body: RegisterPasskeySchema, response: { 201: PasskeySchema, ...problems } }
    }, async (request, reply) => {
      requireRecentAuth(request, stepUpSeconds)
      const row = await passkeys.register(actorOf(request).userId, request.body.name, request.body.response, contextOf(request))
      return reply.code(201).send(view(row))
    })

    app.patch('/api/v1/users/me/passkeys/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'renamePasskey', summary: 'Rename a passkey', params: IdParams, body: RenamePasskeySchema, response: { 200: PasskeySchema, ...problems } }
    }, async (request) => view(await passkeys.rename(actorOf(request).userId, request.params.id, request.body.name)))

    app.delete('/api/v1/users/me/passkeys/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'removePasskey', summary: 'Remove a passkey (recent sign-in required; never your last way to sign in)', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      requireRecentAuth(request, stepUpSeconds)
      await passkeys.remove(actorOf(request).userId, request.params.id, contextOf(request))
      return reply.code(204).send(null)
    })
  }
}
