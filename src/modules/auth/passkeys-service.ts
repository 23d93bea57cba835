import { and, asc, count, eq, sql } from 'drizzle-orm'
import type { AuthenticationResponseJSON, AuthenticatorTransport, RegistrationResponseJSON } from '@simplewebauthn/server'
import type { Config } from '../../config.ts'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import type { UsersService } from '../users/index.ts'
import type { AuthChallenges } from './auth-challenges.ts'
import { oidcErrors, passkeyErrors } from './errors.ts'
import type { FlowAudit } from './flow-audit.ts'
import type { OidcIdentities } from './oidc-identities.ts'
import type { AuthService, RequestContext } from './service.ts'
import { passkeys } from './table.ts'

const CHALLENGE_TTL_MS = 5 * 60_000
const MAX_PASSKEYS = 20

interface PasskeyDeps {
  db: Database
  config: Config
  users: UsersService
  challenges: AuthChallenges
  identities: Pick<OidcIdentities, 'methodsCount'>
  events: Events
  audit: FlowAudit
  /** origins lists the registered frontend origins (CORS_ORIGINS ∪ enabled frontends) besides PUBLIC_URL. */
  origins: () => string[]
  auth: Pick<AuthService, 'startSession'>
}

// The challenge the browser signed travels in clientDataJSON: it names the stored challenge to spend.
function challengeOf (clientDataJSON: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown }
    return typeof parsed.challenge === 'string' ? parsed.challenge : ''
  } catch { return '' }
}

/**
 * webauthn loads @simplewebauthn/server (with its ASN.1 and X.509 libraries, ~300 modules) on the
 * first passkey request instead of at start: most processes never see one (idle RSS, issue 13).
 */
let loading: ReturnType<typeof loadWebauthn> | undefined
const loadWebauthn = () => import('@simplewebauthn/server')
const webauthn = () => (loading ??= loadWebauthn())

/**
 * createPasskeysService holds WebAuthn passkeys (@simplewebauthn/server): registration of several
 * per account, sign-in with a discoverable credential, user verification required, signature
 * counters checked; the relying party is PUBLIC_URL's host, the origins PUBLIC_URL and the registered frontends.
 */
export function createPasskeysService ({ db, config, users, challenges, identities, events, audit, origins, auth }: PasskeyDeps) {
  const publicUrl = new URL(config.http.publicUrl ?? `http://localhost:${config.http.port}`)
  const rpID = publicUrl.hostname
  const expectedOrigin = () => [publicUrl.origin, ...origins()]
  const userEvent = (userId: string, type: string, data: Record<string, unknown>) =>
    ({ type, aggregate: `user:${userId}`, channels: [`user:${userId}`], data: { userId, ...data } })
  const refuse = (ctx: RequestContext, action: string, reason: string, userId?: string): never => {
    audit.emit(ctx, { action, outcome: 'failure', actorId: userId ?? null, targetType: 'user', targetId: userId ?? null, details: { reason: reason.slice(0, 300) } })
    throw passkeyErrors.PASSKEY_INVALID()
  }

  return {
    rpID,
    /** registrationOptions are the options for navigator.credentials.create(): a resident key, user verification required. */
    async registrationOptions (userId: string) {
      const user = await users.get(userId)
      const existing = await db.select({ id: passkeys.credentialId }).from(passkeys).where(eq(passkeys.userId, userId))
      const options = await (await webauthn()).generateRegistrationOptions({
        rpName: config.auth.mfaIssuer,
        rpID,
        userName: user.email,
        userDisplayName: user.name || user.email,
        userID: new TextEncoder().encode(userId),
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.id })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' }
      })
      await challenges.create('passkey_register', { token: options.challenge, userId, ttlMs: CHALLENGE_TTL_MS })
      return options
    },

    /** register verifies a new credential (origin, RP id, challenge, user verification) and saves it under a name. */
    async register (userId: string, name: string, response: RegistrationResponseJSON, ctx: RequestContext) {
      const challenge = challengeOf(response.response.clientDataJSON)
      const spent = challenge ? await challenges.spend('passkey_register', challenge) : undefined
      if (!spent || spent.userId !== userId) return refuse(ctx, 'passkey.register_failed', 'challenge', userId)
      const [held] = await db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId))
      if ((held?.n ?? 0) >= MAX_PASSKEYS) return refuse(ctx, 'passkey.register_failed', 'too many passkeys', userId)
      let verified
      try {
        verified = await (await webauthn()).verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: expectedOrigin(), expectedRPID: rpID, requireUserVerification: true })
      } catch (err) { return refuse(ctx, 'passkey.register_failed', (err as Error).message, userId) }
      if (!verified.verified) return refuse(ctx, 'passkey.register_failed', 'not verified', userId)
      const { credential, credentialBackedUp } = verified.registrationInfo
      const row = await db.transaction(async (tx) => {
        const [inserted] = await tx.insert(passkeys).values({
          userId,
          credentialId: credential.id,
          publicKey: Buffer.from(credential.publicKey).toString('base64url'),
          counter: credential.counter,
          transports: credential.transports ?? [],
          name,
          backedUp: credentialBackedUp
        }).returning()
        await events.record(userEvent(userId, 'passkey.added', { passkeyId: inserted!.id, name }), tx)
        await audit.record(ctx, { action: 'passkey.added', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'passkey', targetId: inserted!.id }, tx)
        return inserted!
      })
      return row
    },

    /** authenticationOptions are the options for navigator.credentials.get() with a discoverable credential (no user named). */
    async authenticationOptions (audience: string) {
      const options = await (await webauthn()).generateAuthenticationOptions({ rpID, userVerification: 'required', allowCredentials: [] })
      await challenges.create('passkey_login', { token: options.challenge, audience, ttlMs: CHALLENGE_TTL_MS })
      return options
    },

    /**
     * signIn verifies an assertion: a stored credential, its challenge (single use), origin, RP id,
     * user verification and a signature counter that moved forward (a cloned authenticator's does not).
     */
    async signIn (response: AuthenticationResponseJSON, ctx: RequestContext) {
      const challenge = challengeOf(response.response.clientDataJSON)
      const spent = challenge ? await challenges.spend('passkey_login', challenge) : undefined
      if (!spent?.audience) return refuse(ctx, 'auth.passkey_failed', 'challenge')
      const [stored] = await db.select().from(passkeys).where(eq(passkeys.credentialId, response.id))
      if (!stored) return refuse(ctx, 'auth.passkey_failed', 'unknown credential')
      let verified
      try {
        verified = await (await webauthn()).verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: expectedOrigin(),
          expectedRPID: rpID,
          requireUserVerification: true,
          credential: { id: stored.credentialId, publicKey: Buffer.from(stored.publicKey, 'base64url'), counter: stored.counter, transports: stored.transports as AuthenticatorTransport[] }
        })
      } catch (err) { return refuse(ctx, 'auth.passkey_failed', (err as Error).message, stored.userId) }
      if (!verified.verified) return refuse(ctx, 'auth.passkey_failed', 'not verified', stored.userId)
      const next = verified.authenticationInfo.newCounter
      // Conditional on the counter read above, so two uses of one assertion cannot both pass.
      const moved = await db.update(passkeys).set({ counter: next, lastUsedAt: new Date() })
        .where(and(eq(passkeys.id, stored.id), eq(passkeys.counter, stored.counter))).returning({ id: passkeys.id })
      if (moved.length === 0) return refuse(ctx, 'auth.passkey_failed', 'counter raced', stored.userId)
      const user = await users.findActive({ id: stored.userId })
      if (!user) return refuse(ctx, 'auth.passkey_failed', 'account not active', stored.userId)
      return auth.startSession(user.id, spent.audience, ctx, 'passkey')
    },

    list: (userId: string) => db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt)),

    async rename (userId: string, id: string, name: string) {
      const [row] = await db.update(passkeys).set({ name }).where(and(eq(passkeys.id, id), eq(passkeys.userId, userId))).returning()
      if (!row) throw passkeyErrors.PASSKEY_NOT_FOUND()
      return row
    },

    /** remove deletes a passkey unless it is the account's last way to sign in. */
    async remove (userId: string, id: string, ctx: RequestContext): Promise<void> {
      const hasPassword = Boolean((await users.repo.findById(userId))?.passwordHash)
      await db.transaction(async (tx) => {
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`backplane:sign-in-methods:${userId}`}, 0))`)
        const [row] = await tx.delete(passkeys).where(and(eq(passkeys.id, id), eq(passkeys.userId, userId))).returning({ id: passkeys.id })
        if (!row) throw passkeyErrors.PASSKEY_NOT_FOUND()
        if (!hasPassword && (await identities.methodsCount(userId, tx)) === 0) throw oidcErrors.LAST_SIGN_IN_METHOD()
        await events.record(userEvent(userId, 'passkey.removed', { passkeyId: id }), tx)
        await audit.record(ctx, { action: 'passkey.removed', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'passkey', targetId: id }, tx)
      })
    }
  }
}

/** PasskeysService is the WebAuthn service. */
export type PasskeysService = ReturnType<typeof createPasskeysService>
