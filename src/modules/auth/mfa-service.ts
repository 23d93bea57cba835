import { ADMIN_ROLE } from '../../platform/rbac.ts'
import type { Config } from '../../config.ts'
import type { SecretBox } from '../../lib/secret-box.ts'
import type { Database } from '../../platform/db.ts'
import type { Events } from '../../platform/events.ts'
import type { SecurityEvent } from '../../platform/security-events.ts'
import type { UsersService } from '../users/index.ts'
import type { AuthChallenges } from './auth-challenges.ts'
import { mfaErrors } from './errors.ts'
import { isLocked, LOCK_AFTER, LOCK_MS, type FlowAudit } from './flow-audit.ts'
import { hashRecoveryCode, newRecoveryCodes } from './mfa-recovery-codes.ts'
import { createMfaRepository } from './mfa-repository.ts'
import { newTotpSecret, totpEnrolment, totpStep } from './mfa-totp.ts'
import type { RequestContext } from './service.ts'

/** MfaPending is the reply of a right password when a second step is due: a challenge token for it, never a session. */
export interface MfaPending {
  status: 'mfa_required' | 'mfa_enrolment_required'
  challengeToken: string
  expiresIn: number
  methods: Array<'totp' | 'recovery_code'>
}

/** SecondFactorPassed is who passed the second step, for which audience, and how (the session's method). */
export interface SecondFactorPassed { userId: string, audience: string, method: string }

const CHALLENGE_TTL_MS = 5 * 60_000
// Forced enrolment takes longer: installing an app and scanning a code.
const ENROLMENT_TTL_MS = 15 * 60_000

interface MfaDeps {
  db: Database
  config: Config
  users: UsersService
  box: SecretBox
  /** recoveryKey keys the recovery-code hashes; read on first use. */
  recoveryKey: () => Buffer
  challenges: AuthChallenges
  events: Events
  audit: FlowAudit
}

/**
 * createMfaService holds TOTP two-factor sign-in: enrolment (sealed secret, QR), confirmation,
 * the second sign-in step with its replay guard and attempt limits, recovery codes, disabling,
 * and the AUTH_MFA_REQUIRED policy.
 */
export function createMfaService ({ db, config, users, box, recoveryKey, challenges, events, audit }: MfaDeps) {
  const repo = createMfaRepository(db)
  const userEvent = (userId: string, type: string, data: Record<string, unknown> = {}) =>
    ({ type, aggregate: `user:${userId}`, channels: [`user:${userId}`], data: { userId, ...data } })
  const recordAlone = (userId: string, type: string, data?: Record<string, unknown>, audited?: { ctx: RequestContext, event: SecurityEvent }) =>
    db.transaction(async (tx) => {
      await events.record(userEvent(userId, type, data), tx)
      if (audited) await audit.record(audited.ctx, audited.event, tx)
    })
  const required = (roles: readonly string[]) =>
    config.auth.mfaRequired === 'all' || (config.auth.mfaRequired === 'admins' && roles.includes(ADMIN_ROLE))
  const hashes = (codes: string[]) => codes.map((c) => hashRecoveryCode(recoveryKey(), c))

  async function begin (userId: string) {
    const [factor, user] = await Promise.all([repo.factor(userId), users.repo.findById(userId)])
    if (factor?.confirmedAt) throw mfaErrors.MFA_ALREADY_ENABLED()
    const secret = newTotpSecret()
    await repo.savePending(userId, box.seal(secret))
    return totpEnrolment(secret, user?.email ?? userId, config.auth.mfaIssuer)
  }

  async function confirm (userId: string, code: string, ctx: RequestContext): Promise<string[]> {
    const factor = await repo.factor(userId)
    if (!factor) throw mfaErrors.MFA_ENROLMENT_NOT_STARTED()
    if (factor.confirmedAt) throw mfaErrors.MFA_ALREADY_ENABLED()
    const step = totpStep(box.open(factor.secretSealed), code)
    if (step === undefined) {
      audit.emit(ctx, { action: 'mfa.enrolment_failed', outcome: 'failure', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId })
      throw mfaErrors.MFA_CODE_INVALID()
    }
    const codes = newRecoveryCodes()
    await db.transaction(async (tx) => {
      if (!(await repo.confirm(factor.id, step, tx))) throw mfaErrors.MFA_ALREADY_ENABLED()
      await repo.replaceCodes(userId, hashes(codes), tx)
      await events.record(userEvent(userId, 'mfa.enabled', { method: 'totp' }), tx)
      await audit.record(ctx, { action: 'mfa.enabled', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, details: { method: 'totp' } }, tx)
    })
    return codes
  }

  // A wrong second factor counts towards the account lock like a wrong password, and one challenge
  // takes MAX_CHALLENGE_ATTEMPTS answers at most: guessing 6-digit codes stays hopeless.
  async function failed (userId: string, challengeId: string, reason: string, ctx: RequestContext): Promise<never> {
    await challenges.fail(challengeId)
    const failures = await users.addFailedLogin(userId, LOCK_AFTER, LOCK_MS)
    audit.emit(ctx, { action: 'auth.mfa_failed', outcome: 'failure', targetType: 'user', targetId: userId, details: { reason } })
    if (failures === LOCK_AFTER) audit.emit(ctx, { action: 'auth.account_locked', outcome: 'failure', targetType: 'user', targetId: userId })
    await recordAlone(userId, 'mfa.challenge_failed', { reason })
    throw failures >= LOCK_AFTER ? mfaErrors.MFA_LOCKED() : mfaErrors.MFA_CODE_INVALID()
  }

  return {
    /** required tells whether the policy demands a second factor from a user with these roles. */
    required,

    /** status says whether TOTP is on and how many recovery codes are left. */
    async status (userId: string) {
      const factor = await repo.factor(userId)
      const enabled = Boolean(factor?.confirmedAt)
      const roles = (await users.principal(userId))?.roles ?? []
      return { totp: enabled, recoveryCodesLeft: enabled ? await repo.codesLeft(userId) : 0, required: required(roles) }
    },

    /**
     * gate is the sign-in step after a right password: a challenge when the user has a second factor,
     * or when the policy requires one (then enrolment); undefined when the session may start now.
     */
    async gate (user: { id: string, roles: readonly string[] }, audience: string): Promise<MfaPending | undefined> {
      const factor = await repo.factor(user.id)
      if (factor?.confirmedAt) {
        const challengeToken = await challenges.create('second_factor', { userId: user.id, audience, ttlMs: CHALLENGE_TTL_MS })
        return { status: 'mfa_required', challengeToken, expiresIn: CHALLENGE_TTL_MS / 1000, methods: ['totp', 'recovery_code'] }
      }
      if (!required(user.roles)) return undefined
      const challengeToken = await challenges.create('enrolment', { userId: user.id, audience, ttlMs: ENROLMENT_TTL_MS })
      return { status: 'mfa_enrolment_required', challengeToken, expiresIn: ENROLMENT_TTL_MS / 1000, methods: ['totp'] }
    },

    /** beginEnrolment makes a new (unconfirmed) TOTP secret for a signed-in user. */
    beginEnrolment: begin,
    /** confirmEnrolment turns TOTP on with a first code and returns the recovery codes, shown this once. */
    confirmEnrolment: confirm,

    /** beginForcedEnrolment is enrolment with the challenge of a required-but-unenrolled sign-in. */
    async beginForcedEnrolment (challengeToken: string) {
      const challenge = await challenges.find('enrolment', challengeToken)
      if (!challenge?.userId) throw mfaErrors.MFA_CHALLENGE_INVALID()
      return begin(challenge.userId)
    },

    /** confirmForcedEnrolment confirms the first code of a forced enrolment and spends its challenge. */
    async confirmForcedEnrolment (challengeToken: string, code: string, ctx: RequestContext): Promise<SecondFactorPassed & { recoveryCodes: string[] }> {
      const challenge = await challenges.find('enrolment', challengeToken)
      if (!challenge?.userId || !challenge.audience) throw mfaErrors.MFA_CHALLENGE_INVALID()
      const userId = challenge.userId
      const recoveryCodes = await confirm(userId, code, ctx).catch(async (err: unknown) => { await challenges.fail(challenge.id); throw err })
      if (!(await challenges.spend('enrolment', challengeToken))) throw mfaErrors.MFA_CHALLENGE_INVALID()
      return { userId, audience: challenge.audience, method: 'password+totp', recoveryCodes }
    },

    /**
     * verify answers a second-factor challenge with a TOTP code (±1 step, each step once) or a
     * recovery code (each once); the challenge is spent on success.
     */
    async verify (input: { challengeToken: string, code?: string, recoveryCode?: string }, ctx: RequestContext): Promise<SecondFactorPassed> {
      const challenge = await challenges.find('second_factor', input.challengeToken)
      if (!challenge?.userId || !challenge.audience) throw mfaErrors.MFA_CHALLENGE_INVALID()
      const userId = challenge.userId
      const [user, factor] = await Promise.all([users.repo.findById(userId), repo.factor(userId)])
      if (!user || user.status !== 'active' || !factor?.confirmedAt) throw mfaErrors.MFA_CHALLENGE_INVALID()
      if (isLocked(user)) {
        audit.emit(ctx, { action: 'auth.mfa_failed', outcome: 'failure', targetType: 'user', targetId: userId, details: { reason: 'locked' } })
        throw mfaErrors.MFA_LOCKED()
      }
      let method: string
      if (input.code !== undefined) {
        const step = totpStep(box.open(factor.secretSealed), input.code)
        if (step === undefined) return failed(userId, challenge.id, 'wrong_code', ctx)
        if (!(await repo.useStep(factor.id, step))) return failed(userId, challenge.id, 'replayed_code', ctx)
        method = 'password+totp'
      } else if (input.recoveryCode !== undefined) {
        if (!(await repo.useCode(userId, hashRecoveryCode(recoveryKey(), input.recoveryCode)))) return failed(userId, challenge.id, 'wrong_recovery_code', ctx)
        method = 'password+recovery_code'
        const left = await repo.codesLeft(userId)
        await recordAlone(userId, 'mfa.recovery_code_used', { recoveryCodesLeft: left }, {
          ctx, event: { action: 'mfa.recovery_code_used', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, details: { recoveryCodesLeft: left } }
        })
      } else {
        throw mfaErrors.MFA_CODE_INVALID('Send a code or a recoveryCode')
      }
      if (!(await challenges.spend('second_factor', input.challengeToken))) throw mfaErrors.MFA_CHALLENGE_INVALID()
      return { userId, audience: challenge.audience, method }
    },

    /** checkCode proves a TOTP code for a signed-in user (re-authentication), replay-guarded and counted on failure. */
    async checkCode (userId: string, code: string | undefined, ctx: RequestContext): Promise<boolean> {
      const factor = await repo.factor(userId)
      if (!factor?.confirmedAt) return true
      const step = code === undefined ? undefined : totpStep(box.open(factor.secretSealed), code)
      if (step !== undefined && await repo.useStep(factor.id, step)) return true
      await users.addFailedLogin(userId, LOCK_AFTER, LOCK_MS)
      audit.emit(ctx, { action: 'auth.mfa_failed', outcome: 'failure', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, details: { reason: code === undefined ? 'missing_code' : 'wrong_code' } })
      return false
    },

    /** regenerateRecoveryCodes replaces every recovery code; the new ones are shown this once. */
    async regenerateRecoveryCodes (userId: string, ctx: RequestContext): Promise<string[]> {
      const factor = await repo.factor(userId)
      if (!factor?.confirmedAt) throw mfaErrors.MFA_NOT_ENABLED()
      const codes = newRecoveryCodes()
      await db.transaction(async (tx) => {
        await repo.replaceCodes(userId, hashes(codes), tx)
        await events.record(userEvent(userId, 'mfa.recovery_codes_regenerated'), tx)
        await audit.record(ctx, { action: 'mfa.recovery_codes_regenerated', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId }, tx)
      })
      return codes
    },

    /** disable turns TOTP off (the caller has re-authenticated); refused while the policy requires it. */
    async disable (userId: string, ctx: RequestContext): Promise<void> {
      const roles = (await users.principal(userId))?.roles ?? []
      if (required(roles)) throw mfaErrors.MFA_REQUIRED_BY_POLICY()
      const removed = await db.transaction(async (tx) => {
        const gone = await repo.remove(userId, tx)
        if (gone) {
          await events.record(userEvent(userId, 'mfa.disabled', { method: 'totp' }), tx)
          await audit.record(ctx, { action: 'mfa.disabled', outcome: 'success', actorId: userId, actorType: 'user', targetType: 'user', targetId: userId, details: { method: 'totp' } }, tx)
        }
        return gone
      })
      if (!removed) throw mfaErrors.MFA_NOT_ENABLED()
    }
  }
}

/** MfaService is the two-factor service. */
export type MfaService = ReturnType<typeof createMfaService>
