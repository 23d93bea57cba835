import type { Config } from '../../config.ts'
import type { Mailer } from '../../platform/mailer.ts'
import type { SecurityEvents } from '../../platform/security-events.ts'
import { frontendAudience } from '../../platform/frontend-context.ts'
import type { UsersService } from '../users/index.ts'
import { authFlowErrors } from './errors.ts'
import { checkPasswordPolicy, hashPassword, isOversized, needsRehash, verifyPassword } from './passwords.ts'
import type { Sessions } from './sessions.ts'
import type { SigningKeys } from './signing-keys.ts'
import type { OneTimeTokens } from './one-time-tokens.ts'
import { auditContextOf, createFlowAudit, isLocked, LOCK_AFTER, LOCK_MS } from './flow-audit.ts'
import { createAuthMail } from './auth-mail.ts'
import { createPasswordReset } from './password-reset.ts'
import { createRegistration } from './registration.ts'
import { mfaErrors } from './errors.ts'
import type { MfaPending, MfaService } from './mfa-service.ts'

/**
 * RequestContext is what a flow knows of the request: for sessions and the audit log, never HTTP
 * itself. `frontend` names the registered frontend whose key the request carried.
 */
export interface RequestContext { ip?: string, userAgent?: string, requestId?: string, frontend?: string }

/** TokenPair is what a sign-in or refresh returns to the client. */
export interface TokenPair {
  accessToken: string
  tokenType: 'Bearer'
  expiresIn: number
  refreshToken: string
  sessionId: string
}

// NO_USER is an id no account has (ids are UUID v7): the unknown-email path's counter update matches nothing.
const NO_USER = '00000000-0000-0000-0000-000000000000'

interface AuthDeps {
  config: Config
  users: UsersService
  sessions: Sessions
  keys: SigningKeys
  tokens: OneTimeTokens
  mailer: Mailer
  events: SecurityEvents
  /** secondFactor is the MFA step after a right password (absent: passwords alone sign in). */
  secondFactor?: Pick<MfaService, 'gate' | 'checkCode'>
}

/**
 * createAuthService holds the sign-in flows: login, sessions, step-up, password change, and (from
 * registration.ts and password-reset.ts) registration and the forgotten-password flow.
 */
export function createAuthService ({ config, users, sessions, keys, tokens, mailer, events, secondFactor }: AuthDeps) {
  const { auth } = config
  // Events that go with no change, or with changes made across several stores (sessions, tokens), are queued.
  const audit = createFlowAudit(events)
  const mail = createAuthMail(auth.linkUrl)

  async function issue (userId: string, sessionId: string, refreshToken: string, audience: string, authTime: number): Promise<TokenPair> {
    const { token } = await keys.sign({ sub: userId, sid: sessionId, authTime }, audience)
    return { accessToken: token, tokenType: 'Bearer', expiresIn: auth.accessTtlSeconds, refreshToken, sessionId }
  }

  /**
   * checkCurrentPassword proves the signed-in user knows the password (password and email changes).
   * Wrong guesses count towards the account lock like failed sign-ins: a stolen access token must
   * not allow unlimited guessing from many addresses (the per-IP limit alone did). Audited as `action`.
   */
  async function checkCurrentPassword (userId: string, password: string, action: string, ctx: RequestContext) {
    const user = await users.repo.findById(userId)
    const locked = isLocked(user)
    if (!user || locked || isOversized(password) || !(await verifyPassword(user.passwordHash, password))) {
      if (user && !locked) await users.addFailedLogin(user.id, LOCK_AFTER, LOCK_MS)
      audit.emit(ctx, { action, outcome: 'failure', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, ...(locked ? { details: { reason: 'locked' } } : {}) })
      throw authFlowErrors.CURRENT_PASSWORD_WRONG()
    }
    if (user.failedLogins > 0) await users.clearFailedLogins(user.id)
    return user
  }

  /**
   * startSession ends a successful sign-in, whatever the method (password, password+totp, oidc,
   * passkey): the failure count is cleared, a session starts and its tokens carry auth_time = now.
   */
  async function startSession (userId: string, audience: string, ctx: RequestContext, method: string): Promise<TokenPair> {
    await users.recordLogin(userId)
    const { sessionId, refreshToken } = await sessions.create({ userId, audience, userAgent: ctx.userAgent, ip: ctx.ip, method }, (id, tx) =>
      audit.record(ctx, { action: 'auth.login', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'session', targetId: id, details: { method } }, tx))
    return issue(userId, sessionId, refreshToken, audience, Math.floor(Date.now() / 1000))
  }

  return {
    ...createRegistration({ config, users, tokens, mailer, mail, events, audit }),
    ...createPasswordReset({ config, users, sessions, tokens, mailer, mail, events, audit }),

    /**
     * login checks the password (against a dummy hash for unknown emails, so time and reply are
     * the same), locks the account for 15 minutes after 10 consecutive failures, and starts a session.
     * Through a frontend (its key on the request), the tokens name it as their audience (AZ-08).
     */
    async login (input: { email: string, password: string }, ctx: RequestContext, audience = ctx.frontend === undefined ? auth.audience : frontendAudience(ctx.frontend)): Promise<TokenPair | MfaPending> {
      if (isOversized(input.password)) throw authFlowErrors.LOGIN_FAILED()
      const user = await users.findForLogin(input.email)
      const locked = isLocked(user)
      // Every attempt on an unlocked account is counted as a failure *while* the password is being
      // checked, and a right password clears the count below. Counting after the check put a database
      // write on the wrong-password path only, which made it measurably slower than an unknown email
      // (3 ms median over 200 samples, Mann–Whitney p < 0.001: account enumeration by timing, AU-12).
      // An unknown email (or a locked account) runs the same statement against no row, so every
      // path loads the database alike.
      const [ok, failures] = await Promise.all([
        verifyPassword(user?.passwordHash, input.password),
        user && !locked ? users.addFailedLogin(user.id, LOCK_AFTER, LOCK_MS) : users.addFailedLogin(NO_USER, LOCK_AFTER, LOCK_MS).then(() => undefined)
      ])
      if (!user || !ok || locked || user.status !== 'active') {
        if (failures === LOCK_AFTER) audit.emit(ctx, { action: 'auth.account_locked', outcome: 'failure', targetType: 'user', targetId: user?.id ?? null })
        audit.emit(ctx, { action: 'auth.login', outcome: 'failure', targetType: 'user', targetId: user?.id ?? null, details: { reason: !user ? 'unknown_email' : locked ? 'locked' : !ok ? 'wrong_password' : user.status } })
        throw authFlowErrors.LOGIN_FAILED()
      }
      if (auth.requireVerifiedEmail && !user.emailVerifiedAt) {
        await users.clearFailedLogins(user.id)
        throw authFlowErrors.EMAIL_NOT_VERIFIED()
      }
      if (needsRehash(user.passwordHash!)) await users.setPasswordHash(user.id, await hashPassword(input.password), { rehash: true })
      // A password alone gives no session when a second factor is due. The failure counted above
      // stays until the second step succeeds, so right passwords alternating with wrong codes still
      // run into the account lock (MF-04).
      const pending = await secondFactor?.gate(user, audience)
      if (pending) {
        audit.emit(ctx, { action: 'auth.password_verified', outcome: 'success', actorId: user.id, actorType: 'user', targetType: 'user', targetId: user.id, details: { next: pending.status } })
        return pending
      }
      return startSession(user.id, audience, ctx, 'password')
    },

    startSession,

    /**
     * reauthenticate is step-up: the password (and the TOTP code when MFA is on) proven again
     * in this session moves its auth_time to now; the reply is a fresh access token carrying it.
     */
    async reauthenticate (userId: string, sessionId: string, input: { password: string, code?: string }, ctx: RequestContext) {
      await checkCurrentPassword(userId, input.password, 'auth.reauthenticate', ctx)
      if (secondFactor && !(await secondFactor.checkCode(userId, input.code, ctx))) throw mfaErrors.MFA_CODE_INVALID()
      const authTime = await sessions.reauthenticated(userId, sessionId)
      if (authTime === undefined) throw authFlowErrors.REFRESH_INVALID()
      const live = await sessions.live(sessionId)
      const { token } = await keys.sign({ sub: userId, sid: sessionId, authTime }, live?.audience ?? auth.audience)
      audit.emit(ctx, { action: 'auth.reauthenticated', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'session', targetId: sessionId })
      return { accessToken: token, tokenType: 'Bearer' as const, expiresIn: auth.accessTtlSeconds }
    },

    /** refresh rotates the refresh token and issues a new access token; reuse revokes the session and is audited. */
    async refresh (refreshToken: string, ctx: RequestContext): Promise<TokenPair> {
      const outcome = await sessions.refresh(refreshToken, ctx)
      if (outcome.kind === 'reuse') {
        audit.emit(ctx, { action: 'auth.refresh_reuse_detected', outcome: 'failure', actorId: outcome.userId, actorType: 'user', targetType: 'session', targetId: outcome.sessionId })
        throw authFlowErrors.REFRESH_INVALID()
      }
      if (outcome.kind === 'invalid') throw authFlowErrors.REFRESH_INVALID()
      const principal = await users.principal(outcome.userId)
      if (!principal || principal.status !== 'active') {
        await sessions.revokeAllForUser(outcome.userId, `user ${principal?.status ?? 'missing'}`)
        throw authFlowErrors.REFRESH_INVALID()
      }
      return issue(outcome.userId, outcome.sessionId, outcome.token, outcome.audience, outcome.authTime)
    },

    async logout (userId: string, sessionId: string, ctx: RequestContext): Promise<void> {
      await sessions.revoke(userId, sessionId, 'logout', (_ended, tx) =>
        audit.record(ctx, { action: 'auth.logout', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'session', targetId: sessionId }, tx))
    },

    async logoutAll (userId: string, ctx: RequestContext): Promise<number> {
      return sessions.revokeAllForUser(userId, 'logout everywhere', undefined, (n, tx) =>
        audit.record(ctx, { action: 'auth.logout_all', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, details: { sessions: n } }, tx))
    },

    checkCurrentPassword,

    /** changePassword needs the current password and ends every other session. */
    async changePassword (userId: string, sessionId: string | undefined, input: { currentPassword: string, newPassword: string }, ctx: RequestContext): Promise<void> {
      const user = await checkCurrentPassword(userId, input.currentPassword, 'user.password_change', ctx)
      checkPasswordPolicy(input.newPassword, auth.passwordMinLength, [user.email.split('@')[0] ?? '', user.name])
      // The notice is queued in the change's transaction: sent if and only if the new password is stored.
      await users.setPasswordHash(userId, await hashPassword(input.newPassword), { audited: { context: auditContextOf(ctx, userId), events: () => [], also: (row, tx) => mailer.send(mail.passwordChanged(row.email), tx) } })
      await sessions.revokeAllForUser(userId, 'password changed', sessionId, (ended, tx) =>
        audit.record(ctx, { action: 'user.password_changed', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, details: { sessionsEnded: ended } }, tx))
    }
  }
}

/** AuthService is the sign-in flows' service. */
export type AuthService = ReturnType<typeof createAuthService>
