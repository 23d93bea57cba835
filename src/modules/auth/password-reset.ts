import type { Config } from '../../config.ts'
import type { Mailer } from '../../platform/mailer.ts'
import type { SecurityEvents } from '../../platform/security-events.ts'
import type { UsersService } from '../users/index.ts'
import { LINK_TTL_MS, type AuthMail } from './auth-mail.ts'
import { authFlowErrors } from './errors.ts'
import { auditContextOf, type FlowAudit } from './flow-audit.ts'
import type { OneTimeTokens } from './one-time-tokens.ts'
import { checkPasswordPolicy, hashPassword, isOversized } from './passwords.ts'
import type { RequestContext } from './service.ts'
import type { Sessions } from './sessions.ts'

interface PasswordResetDeps {
  config: Config
  users: UsersService
  sessions: Sessions
  tokens: OneTimeTokens
  mailer: Mailer
  mail: AuthMail
  events: SecurityEvents
  audit: FlowAudit
}

/** createPasswordReset holds the forgotten-password flow: a mailed single-use link, then a new password. */
export function createPasswordReset ({ config, users, sessions, tokens, mailer, mail, events, audit }: PasswordResetDeps) {
  return {
    /**
     * forgotPassword answers the same for every address and does the same work for each (AU-12):
     * one transaction with one one-time token, one audit row and one mail. An active account gets a
     * reset link; any other address (unknown, disabled) a notice without a link that no active
     * account uses it. The token names the address, never the account, in both cases: the row is
     * the same, with no foreign-key check and no revocation of the account's earlier tokens (under
     * load those writes made a known address measurably slower: p < 0.001 on CI). The account is
     * found when the token is spent, and older tokens stop working then.
     */
    async forgotPassword (email: string, ctx: RequestContext): Promise<void> {
      const user = await users.findForLogin(email)
      const active = user?.status === 'active' ? user : undefined
      // The link used to be made after the reply, and only for an account: awaiting its writes had
      // made a registered address 7 ms slower than an unknown one, and a mail queued after the reply
      // could be lost. Now both paths write the same rows before the reply, in one transaction.
      await tokens.create('reset_password', { email, ttlMs: LINK_TTL_MS.reset }, async (token, tx) => {
        await events.record(auditContextOf(ctx, null), { action: 'auth.password_reset_requested', outcome: 'success', targetType: 'user', targetId: user?.id ?? null }, tx)
        await mailer.send(active ? mail.reset(active.email, token) : mail.noAccount(email.trim()), tx)
      })
    },

    /** resetPassword spends a reset token, sets the password and ends every session. */
    async resetPassword (input: { token: string, password: string }, ctx: RequestContext): Promise<void> {
      if (isOversized(input.password)) throw authFlowErrors.WEAK_PASSWORD()
      checkPasswordPolicy(input.password, config.auth.passwordMinLength)
      const spent = await tokens.spendReset(input.token)
      // A token made for an address resets the active account that has that address now: none after
      // the account moved to another address, was disabled or deleted (and never for an unknown one).
      const owner = spent && (spent.userId ?? (spent.email === null ? undefined : await users.findForLogin(spent.email)))
      const userId = typeof owner === 'string' ? owner : owner?.status === 'active' ? owner.id : undefined
      if (!userId) throw authFlowErrors.TOKEN_INVALID()
      await users.setPasswordHash(userId, await hashPassword(input.password))
      // Whoever could read the inbox proved they own the account: the address is verified too.
      await users.markEmailVerified(userId)
      await sessions.revokeAllForUser(userId, 'password reset', undefined, (_ended, tx) =>
        audit.record(ctx, { action: 'user.password_reset', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId }, tx))
    }
  }
}
