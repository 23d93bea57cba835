import type { Config } from '../../config.ts'
import type { Mailer } from '../../platform/mailer.ts'
import type { SecurityEvent, SecurityEvents } from '../../platform/security-events.ts'
import type { UsersService } from '../users/index.ts'
import { LINK_TTL_MS, type AuthMail } from './auth-mail.ts'
import { authFlowErrors } from './errors.ts'
import { auditContextOf, type FlowAudit } from './flow-audit.ts'
import type { OneTimeTokens } from './one-time-tokens.ts'
import { checkPasswordPolicy, hashPassword } from './passwords.ts'
import type { RequestContext } from './service.ts'

interface RegistrationDeps {
  config: Config
  users: UsersService
  tokens: OneTimeTokens
  mailer: Mailer
  mail: AuthMail
  events: SecurityEvents
  audit: FlowAudit
}

/**
 * createRegistration holds how accounts come to be: self-registration, email verification,
 * invitations and accounts made by admins. Every mail is queued in the transaction of the change
 * that causes it (with SMTP_URL a `mail.send` job that exists if and only if the change commits).
 */
export function createRegistration ({ config, users, tokens, mailer, mail, events, audit }: RegistrationDeps) {
  const { auth } = config

  return {
    /**
     * register creates an account. The reply is the same whether or not the email was free (no
     * account enumeration); the owner of an existing account is told by mail instead.
     */
    async register (input: { email: string, password: string, name?: string, inviteToken?: string }, ctx: RequestContext): Promise<void> {
      if (auth.registration === 'closed') throw authFlowErrors.REGISTRATION_CLOSED()
      // The policy is checked before the invitation is spent: a refused password must leave the
      // invitee their (single-use) invitation to try again with.
      checkPasswordPolicy(input.password, auth.passwordMinLength, [input.email.split('@')[0] ?? '', input.name ?? ''])
      if (auth.registration === 'invite') {
        if (!input.inviteToken || !(await tokens.consumeInvite(input.inviteToken, input.email))) throw authFlowErrors.INVITATION_REQUIRED()
      }
      const passwordHash = await hashPassword(input.password)
      // A taken address used to return before the INSERT (3.4-3.9 ms faster than a free one), then
      // skipped the domain event, the audit row and the mail a free one wrote (0.1-0.5 ms, still
      // detectable: Mann-Whitney p < 0.01, AU-12). Both now do the same work in one transaction:
      // the lookup, the INSERT (which creates nothing for a taken address), one domain event, one
      // audit row, one one-time token and one mail: a verification link, or for the owner of the
      // taken address a notice with a reset link.
      await users.register({ email: input.email, name: input.name, passwordHash, emailVerified: auth.registration === 'invite' }, async ({ created, user }, tx) => {
        // No user: another registration took the address between the lookup and the INSERT (a race
        // of two requests, not something a single probe can cause or see).
        if (!user) return
        if (created) {
          await events.record(auditContextOf(ctx, null), { action: 'user.registered', outcome: 'success', actorId: user.id, actorType: 'user', targetType: 'user', targetId: user.id }, tx)
          // Invited accounts are verified already: the invitation went to this address.
          if (!user.emailVerifiedAt) await tokens.create('verify_email', { userId: user.id, ttlMs: LINK_TTL_MS.verify }, (token) => mailer.send(mail.verification(user.email, token), tx), tx)
          return
        }
        await events.record(auditContextOf(ctx, null), { action: 'user.register_existing_email', outcome: 'failure', targetType: 'user', targetId: user.id }, tx)
        await tokens.create('reset_password', { userId: user.id, email: user.email, ttlMs: LINK_TTL_MS.reset }, (token) => mailer.send(mail.accountExists(user.email, token), tx), tx)
      })
    },

    async verifyEmail (token: string, ctx: RequestContext): Promise<void> {
      const userId = await tokens.consume('verify_email', token)
      if (!userId) throw authFlowErrors.TOKEN_INVALID()
      await users.markEmailVerified(userId)
      audit.emit(ctx, { action: 'user.email_verified', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId })
    },

    async resendVerification (userId: string): Promise<void> {
      const user = await users.repo.findById(userId)
      if (user && !user.emailVerifiedAt) await tokens.create('verify_email', { userId: user.id, ttlMs: LINK_TTL_MS.verify }, (token, tx) => mailer.send(mail.verification(user.email, token), tx))
    },

    /** invite mails a single-use invitation (7 days) for invite-only registration. */
    async invite (email: string, invitedBy: string, ctx: RequestContext): Promise<void> {
      // With registration closed an invitation could never be used: admins create the account instead.
      if (auth.registration === 'closed') throw authFlowErrors.INVITATIONS_OFF()
      await tokens.create('invite', { email, ttlMs: LINK_TTL_MS.invite }, async (token, tx) => {
        await events.record(auditContextOf(ctx, invitedBy), { action: 'user.invited', outcome: 'success', targetType: 'email', details: { email } }, tx)
        await mailer.send(mail.invitation(email, token), tx)
      })
    },

    /**
     * createAccount is how admins add people (any registration mode): an account without a
     * password, and a mailed link (7 days) to choose one through the reset-password flow, both in
     * the account's transaction.
     */
    async createAccount (input: { email: string, name?: string, roles?: string[] }, createdBy: string, ctx: RequestContext) {
      const created = (row: { id: string, roles: string[] }): SecurityEvent => ({ action: 'user.created', outcome: 'success', targetType: 'user', targetId: row.id, details: { roles: row.roles } })
      return users.create({ email: input.email, name: input.name, passwordHash: null, roles: input.roles }, {
        context: auditContextOf(ctx, createdBy),
        event: created,
        also: (row, tx) => tokens.create('reset_password', { userId: row.id, email: row.email, ttlMs: LINK_TTL_MS.newAccount }, (token) => mailer.send(mail.newAccount(row.email, token), tx), tx).then(() => {})
      })
    }
  }
}
