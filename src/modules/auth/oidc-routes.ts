import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { frontendAudience } from '../../platform/frontend-context.ts'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import { requireRecentAuth } from '../../platform/step-up.ts'
import { oidcErrors } from './errors.ts'
import { MfaPendingSchema } from './mfa-schemas.ts'
import type { OidcProviders } from './oidc-providers.ts'
import {
  AuthorizationUrlSchema, CallbackQuery, ConfirmLinkSchema, CreateProviderSchema, ExchangeSchema, IdentityListSchema, IdParams, LinkStartSchema,
  ProviderListSchema, ProviderParams, PublicProviderListSchema, StartSchema
} from './oidc-schemas.ts'
import type { OidcService } from './oidc-service.ts'
import { contextOf } from './routes.ts'
import { TokenPairSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 429: ProblemSchema }
const tags = ['oidc']

/** oidcRoutes serve sign-in with OpenID Connect providers, linking, and the admin provider settings. */
export function oidcRoutes (oidc: OidcService, providers: OidcProviders, defaultAudience: string, stepUpSeconds: number): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>()
    const strict = { access: 'public' as const, rateLimitTier: 'auth' as const }
    const view = (p: Awaited<ReturnType<OidcProviders['list']>>[number]) =>
      ({ id: p.id, slug: p.slug, displayName: p.displayName, issuer: p.issuer, clientId: p.clientId, scopes: p.scopes, enabled: p.enabled, callbackUrl: oidc.callbackUrl })

    app.get('/api/v1/auth/providers', {
      config: { access: 'public' },
      schema: { tags, operationId: 'listSignInProviders', summary: 'The identity providers a sign-in page can offer', response: { 200: PublicProviderListSchema } }
    }, async () => ({ items: (await providers.list()).filter((p) => p.enabled).map((p) => ({ slug: p.slug, displayName: p.displayName })) }))

    app.post('/api/v1/auth/oidc/:provider/start', {
      config: strict,
      schema: { tags, operationId: 'startOidcSignIn', summary: 'Begin signing in with a provider: the URL to open in the browser', params: ProviderParams, body: StartSchema, response: { 200: AuthorizationUrlSchema, ...problems, 502: ProblemSchema } }
    }, async (request) => {
      const audience = request.frontend ? frontendAudience(request.frontend) : defaultAudience
      return oidc.startSignIn(request.params.provider, request.body.returnTo, audience, contextOf(request))
    })

    app.get('/api/v1/auth/oidc/callback', {
      config: strict,
      schema: { tags, operationId: 'oidcCallback', summary: 'Where providers send the browser back; it continues to returnTo with login_code, link_token or error', querystring: CallbackQuery, response: { 302: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      const current = new URL(request.url, oidc.callbackUrl)
      return reply.redirect(await oidc.callback(current, contextOf(request)), 302)
    })

    app.post('/api/v1/auth/oidc/exchange', {
      config: strict,
      schema: { tags, operationId: 'exchangeOidcLoginCode', summary: 'Trade the login_code of the return URL for a session (202: the MFA step is due)', body: ExchangeSchema, response: { 200: TokenPairSchema, 202: MfaPendingSchema, ...problems } }
    }, async (request, reply) => {
      const result = await oidc.exchange(request.body.loginCode, contextOf(request))
      return 'challengeToken' in result ? reply.code(202).send(result) : reply.code(200).send(result)
    })

    app.post('/api/v1/auth/oidc/link/confirm', {
      config: strict,
      schema: { tags, operationId: 'confirmOidcLink', summary: 'An account with this email exists: prove it with its password to link the provider and sign in', body: ConfirmLinkSchema, response: { 200: TokenPairSchema, ...problems } }
    }, async (request) => oidc.confirmLink(request.body, contextOf(request)))

    app.get('/api/v1/users/me/identities', {
      config: { access: 'user' },
      schema: { tags, operationId: 'listMyIdentities', summary: 'The providers linked to your account', response: { 200: IdentityListSchema, ...problems } }
    }, async (request) => ({
      items: (await oidc.listIdentities(actorOf(request).userId)).map((i) => ({ ...i, createdAt: i.createdAt.toISOString(), lastUsedAt: i.lastUsedAt?.toISOString() ?? null }))
    }))

    app.post('/api/v1/users/me/identities', {
      config: { access: 'user', rateLimitTier: 'auth' },
      schema: { tags, operationId: 'startIdentityLink', summary: 'Link a provider to your account: the URL to open in the browser (recent sign-in required)', body: LinkStartSchema, response: { 200: AuthorizationUrlSchema, ...problems, 502: ProblemSchema } }
    }, async (request) => {
      requireRecentAuth(request, stepUpSeconds)
      return oidc.startLink(actorOf(request).userId, request.body.provider, request.body.returnTo, contextOf(request))
    })

    app.delete('/api/v1/users/me/identities/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'unlinkIdentity', summary: 'Unlink a provider (recent sign-in required; never your last way to sign in)', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      requireRecentAuth(request, stepUpSeconds)
      await oidc.unlink(actorOf(request).userId, request.params.id, contextOf(request))
      return reply.code(204).send(null)
    })

    app.get('/api/v1/admin/identity-providers', {
      config: { access: 'user:manage' },
      schema: { tags: ['admin'], operationId: 'listIdentityProviders', summary: 'Configured identity providers', response: { 200: ProviderListSchema, ...problems } }
    }, async () => ({ items: (await providers.list()).map(view) }))

    app.post('/api/v1/admin/identity-providers', {
      config: { access: 'user:manage' },
      schema: { tags: ['admin'], operationId: 'createIdentityProvider', summary: 'Add an identity provider (Google, Microsoft, any OpenID Connect issuer, or GitHub over OAuth2); the client secret is stored sealed', body: CreateProviderSchema, response: { 201: ProviderListSchema.properties.items.items, ...problems } }
    }, async (request, reply) => {
      const row = await providers.create(request.body, app.securityEvents.contextOf(request))
      return reply.code(201).send(view(row))
    })

    app.delete('/api/v1/admin/identity-providers/:id', {
      config: { access: 'user:manage' },
      schema: { tags: ['admin'], operationId: 'deleteIdentityProvider', summary: 'Remove a provider and every account link to it', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      if (!(await providers.remove(request.params.id, app.securityEvents.contextOf(request)))) throw oidcErrors.OIDC_PROVIDER_NOT_FOUND()
      return reply.code(204).send(null)
    })
  }
}
