import { sql } from 'drizzle-orm'
import * as client from 'openid-client'
import type { Config } from '../../config.ts'
import type { SecretBox } from '../../lib/secret-box.ts'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import type { UsersService } from '../users/index.ts'
import type { AuthChallenges } from './auth-challenges.ts'
import { mfaErrors, oidcErrors } from './errors.ts'
import type { FlowAudit } from './flow-audit.ts'
import { GITHUB_ENDPOINTS, githubClaims, type ProviderClaims } from './github-oauth.ts'
import type { MfaService } from './mfa-service.ts'
import type { OidcIdentities } from './oidc-identities.ts'
import type { OidcProviderRow, OidcProviders } from './oidc-providers.ts'
import type { AuthService, RequestContext } from './service.ts'

/** OidcFlow is what a sign-in attempt keeps between its start and the provider's redirect back. */
interface OidcFlow { providerId: string, verifier: string, nonce: string, returnTo: string, mode: 'sign_in' | 'link' }

const FLOW_TTL_MS = 10 * 60_000
const CODE_TTL_MS = 60_000
const LINK_TTL_MS = 10 * 60_000

interface OidcDeps {
  db: Database
  config: Config
  providers: OidcProviders
  identities: OidcIdentities
  challenges: AuthChallenges
  users: UsersService
  /** box seals the PKCE verifier while the flow is at the provider. */
  box: SecretBox
  events: Events
  audit: FlowAudit
  /** allowsOrigin tells whether a frontend origin is registered (CORS_ORIGINS ∪ enabled frontends). */
  allowsOrigin: (origin: string) => boolean
  auth: Pick<AuthService, 'startSession' | 'checkCurrentPassword'>
  mfa: Pick<MfaService, 'gate' | 'checkCode'>
}

// whyRefused names what openid-client refused (its codes, messages and the claim at fault, through
// the cause chain) for the audit record: "OAUTH_JWT_CLAIM_COMPARISON_FAILED … claim nonce".
function whyRefused (err: unknown): string {
  const parts: string[] = []
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message, claim } = e as { code?: unknown, message?: unknown, claim?: unknown }
    if (typeof code === 'string') parts.push(code)
    if (typeof message === 'string') parts.push(message)
    if (typeof claim === 'string') parts.push(`claim ${claim}`)
  }
  return parts.join(' | ').slice(0, 400) || 'refused'
}

const withParams = (url: string, params: Record<string, string>) => {
  const u = new URL(url)
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
  return u.toString()
}

/**
 * createOidcService signs people in through OpenID Connect providers: authorization code with PKCE,
 * state and nonce, the ID token checked by openid-client (issuer, audience, signature through the
 * JWKS, expiry, nonce), redirects only to registered frontend origins, and account linking only
 * through a provider-verified email confirmed by the account's own password.
 */
export function createOidcService ({ db, config, providers, identities, challenges, users, box, events, audit, allowsOrigin, auth, mfa }: OidcDeps) {
  const publicUrl = (config.http.publicUrl ?? `http://localhost:${config.http.port}`).replace(/\/+$/, '')
  const callbackUrl = `${publicUrl}/api/v1/auth/oidc/callback`
  const userEvent = (userId: string, type: string, data: Record<string, unknown>) =>
    ({ type, aggregate: `user:${userId}`, channels: [`user:${userId}`], data: { userId, ...data } })

  // The browser is only ever sent back to a registered frontend (or Backplane's own origin): an open
  // redirect would hand the login code to whoever named the return address.
  function checkReturnTo (returnTo: string, ctx: RequestContext): string {
    let url: URL | undefined
    try { url = new URL(returnTo) } catch {}
    if (!url || (url.origin !== new URL(publicUrl).origin && !allowsOrigin(url.origin))) {
      audit.emit(ctx, { action: 'auth.oidc_failed', outcome: 'denied', details: { reason: 'return_not_allowed', origin: url?.origin ?? 'invalid' } })
      throw oidcErrors.OIDC_RETURN_NOT_ALLOWED()
    }
    return url.toString()
  }

  async function begin (slug: string, returnTo: string, mode: OidcFlow['mode'], ctx: RequestContext, userId?: string, audience?: string) {
    const target = checkReturnTo(returnTo, ctx)
    const provider = await providers.bySlug(slug)
    const configuration = await providers.configuration(provider)
    const verifier = client.randomPKCECodeVerifier()
    // GitHub issues no ID token, so it has no nonce to check; state and PKCE guard its flow.
    const nonce = provider.kind === 'oidc' ? client.randomNonce() : ''
    const state = client.randomState()
    const flow: OidcFlow = { providerId: provider.id, verifier: box.seal(verifier), nonce, returnTo: target, mode }
    await challenges.create('oidc', { token: state, userId, audience, data: { ...flow }, ttlMs: FLOW_TTL_MS })
    audit.emit(ctx, { action: 'auth.oidc_started', outcome: 'success', actorId: userId ?? null, targetType: 'identity-provider', targetId: provider.id, details: { provider: slug, mode } })
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: callbackUrl, scope: provider.scopes, state, ...(nonce ? { nonce } : {}), code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256'
    })
    return { authorizationUrl: url.toString() }
  }

  // identify exchanges the code (with the PKCE verifier and state) and says who the person is: from
  // the checked ID token (and userinfo) for OpenID Connect, from GitHub's API for GitHub.
  async function identify (provider: OidcProviderRow, currentUrl: URL, flow: OidcFlow, state: string): Promise<ProviderClaims | undefined> {
    const configuration = await providers.configuration(provider)
    const oidc = provider.kind === 'oidc'
    const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: box.open(flow.verifier), expectedState: state, ...(oidc ? { expectedNonce: flow.nonce } : {}), idTokenExpected: oidc
    })
    if (!oidc) return githubClaims(configuration, tokens.access_token, provider.endpoints ?? GITHUB_ENDPOINTS)
    let claims: client.IDToken | undefined = tokens.claims()
    // Providers may keep profile claims out of the ID token (OIDC Core 5.4): ask the userinfo
    // endpoint, which must answer for the same subject.
    if (claims && claims.email === undefined && configuration.serverMetadata().userinfo_endpoint) {
      claims = { ...(await client.fetchUserInfo(configuration, tokens.access_token, claims.sub)), ...claims }
    }
    if (!claims) return undefined
    return {
      sub: claims.sub,
      email: typeof claims.email === 'string' ? claims.email : undefined,
      email_verified: claims.email_verified === true,
      name: typeof claims.name === 'string' ? claims.name : undefined
    }
  }

  async function signInCode (userId: string, audience: string, method: string): Promise<string> {
    return challenges.create('oidc_sign_in', { userId, audience, data: { method }, ttlMs: CODE_TTL_MS })
  }

  async function linkIdentity (userId: string, providerId: string, subject: string, email: string | undefined, slug: string, ctx: RequestContext): Promise<boolean> {
    const linked = await db.transaction(async (tx) => {
      const ok = await identities.link({ userId, providerId, subject, email }, tx)
      if (ok) {
        await events.record(userEvent(userId, 'identity.linked', { provider: slug }), tx)
        await audit.record(ctx, { action: 'auth.identity_linked', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, details: { provider: slug } }, tx)
      }
      return ok
    })
    return linked
  }

  return {
    callbackUrl,
    /** startSignIn begins a sign-in: the provider's authorization URL, to open in the browser. */
    startSignIn: (slug: string, returnTo: string, audience: string, ctx: RequestContext) => begin(slug, returnTo, 'sign_in', ctx, undefined, audience),
    /** startLink begins linking a provider to the signed-in user's account. */
    startLink: (userId: string, slug: string, returnTo: string, ctx: RequestContext) => begin(slug, returnTo, 'link', ctx, userId),

    /**
     * callback finishes at the provider's redirect: the state is spent (single use), the code
     * exchanged with the PKCE verifier and the ID token checked; the browser is then sent back to
     * the frontend with a one-minute `login_code` (never tokens in a URL), a `link` confirmation, or an `error`.
     */
    async callback (currentUrl: URL, ctx: RequestContext): Promise<string> {
      const state = currentUrl.searchParams.get('state') ?? ''
      const challenge = state ? await challenges.spend('oidc', state) : undefined
      if (!challenge) {
        audit.emit(ctx, { action: 'auth.oidc_failed', outcome: 'failure', details: { reason: 'state_invalid' } })
        throw oidcErrors.OIDC_STATE_INVALID()
      }
      const flow = challenge.data as OidcFlow
      const provider = await providers.byId(flow.providerId)
      const fail = (reason: string, detail?: string) => {
        audit.emit(ctx, { action: 'auth.oidc_failed', outcome: 'failure', actorId: challenge.userId, targetType: 'identity-provider', targetId: flow.providerId, details: { reason, ...(detail ? { detail: detail.slice(0, 400) } : {}) } })
        return withParams(flow.returnTo, { error: reason })
      }
      if (!provider?.enabled) return fail('provider_unavailable')
      if (currentUrl.searchParams.has('error')) return fail('provider_refused', currentUrl.searchParams.get('error') ?? undefined)
      let claims: ProviderClaims | undefined
      try {
        claims = await identify(provider, currentUrl, flow, state)
      } catch (err) {
        return fail(provider.kind === 'oidc' ? 'id_token_invalid' : 'provider_response_invalid', whyRefused(err))
      }
      if (!claims) return fail('id_token_invalid', 'no ID token')
      const email = claims.email
      const existing = await identities.find(provider.id, claims.sub)
      if (flow.mode === 'link') {
        if (!challenge.userId) return fail('state_invalid')
        if (!(await linkIdentity(challenge.userId, provider.id, claims.sub, email, provider.slug, ctx))) return fail('identity_taken')
        return withParams(flow.returnTo, { linked: provider.slug })
      }
      const audience = challenge.audience ?? config.auth.audience
      if (existing) {
        await identities.touch(existing.id)
        return withParams(flow.returnTo, { login_code: await signInCode(existing.userId, audience, `oidc:${provider.slug}`) })
      }
      // No link yet: only an address the provider itself marks verified may lead to an account.
      if (!email || claims.email_verified !== true) return fail('email_not_verified')
      const local = await users.findForLogin(email)
      if (local) {
        const link = await challenges.create('link_identity', { userId: local.id, audience, data: { providerId: provider.id, subject: claims.sub, email }, ttlMs: LINK_TTL_MS })
        audit.emit(ctx, { action: 'auth.oidc_link_required', outcome: 'success', targetType: 'user', targetId: local.id, details: { provider: provider.slug } })
        return withParams(flow.returnTo, { link_token: link, provider: provider.slug })
      }
      if (config.auth.registration !== 'open') return fail('registration_closed')
      const name = claims.name?.slice(0, 200)
      const user = await users.create({ email, name, passwordHash: null, emailVerified: true })
      audit.emit(ctx, { action: 'user.registered', outcome: 'success', actorId: user.id, actorType: 'user', targetType: 'user', targetId: user.id, details: { provider: provider.slug } })
      await linkIdentity(user.id, provider.id, claims.sub, email, provider.slug, ctx)
      return withParams(flow.returnTo, { login_code: await signInCode(user.id, audience, `oidc:${provider.slug}`) })
    },

    /** exchange trades the one-minute login code for a session (or the MFA step when the account has one). */
    async exchange (code: string, ctx: RequestContext) {
      const challenge = await challenges.spend('oidc_sign_in', code)
      const user = challenge?.userId ? await users.findActive({ id: challenge.userId }) : undefined
      if (!challenge?.audience || !user) throw oidcErrors.OIDC_CODE_INVALID()
      const pending = await mfa.gate({ id: user.id, roles: user.roles }, challenge.audience)
      if (pending) return pending
      return auth.startSession(user.id, challenge.audience, ctx, String((challenge.data as { method?: string }).method ?? 'oidc'))
    },

    /**
     * confirmLink links a provider to an existing account with the same (provider-verified) email,
     * once the account's owner proves it with the password (and TOTP code when on), and signs in.
     */
    async confirmLink (input: { linkToken: string, password: string, code?: string }, ctx: RequestContext) {
      const challenge = await challenges.find('link_identity', input.linkToken)
      if (!challenge?.userId || !challenge.audience) throw oidcErrors.OIDC_LINK_INVALID()
      const userId = challenge.userId
      await auth.checkCurrentPassword(userId, input.password, 'auth.oidc_link_confirm', ctx).catch(async (err: unknown) => { await challenges.fail(challenge.id); throw err })
      if (!(await mfa.checkCode(userId, input.code, ctx))) throw mfaErrors.MFA_CODE_INVALID()
      if (!(await challenges.spend('link_identity', input.linkToken))) throw oidcErrors.OIDC_LINK_INVALID()
      const data = challenge.data as { providerId: string, subject: string, email: string }
      const provider = await providers.byId(data.providerId)
      if (!provider || !(await linkIdentity(userId, data.providerId, data.subject, data.email, provider.slug, ctx))) throw oidcErrors.OIDC_LINK_INVALID()
      return auth.startSession(userId, challenge.audience, ctx, `oidc:${provider.slug}`)
    },

    listIdentities: (userId: string) => identities.listForUser(userId),

    /** unlink removes a linked identity unless it is the account's last way to sign in (no password, no other identity, no passkey). */
    async unlink (userId: string, id: string, ctx: RequestContext): Promise<void> {
      const hasPassword = Boolean((await users.repo.findById(userId))?.passwordHash)
      await db.transaction(async (tx) => {
        // Two unlinks at once must not both see the other's identity as the remaining method.
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`backplane:sign-in-methods:${userId}`}, 0))`)
        const row = await identities.remove(userId, id, tx)
        if (!row) throw oidcErrors.OIDC_IDENTITY_NOT_FOUND()
        if (!hasPassword && (await identities.methodsCount(userId, tx)) === 0) throw oidcErrors.LAST_SIGN_IN_METHOD()
        await events.record(userEvent(userId, 'identity.unlinked', { identityId: id }), tx)
        await audit.record(ctx, { action: 'auth.identity_unlinked', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'identity-provider', targetId: row.providerId }, tx)
      })
    }
  }
}

/** OidcService is the OpenID Connect sign-in service. */
export type OidcService = ReturnType<typeof createOidcService>
