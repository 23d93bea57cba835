import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { enrolTotp, nextTotpStep, passwordStep, totpCode } from '../../../test/helpers/mfa.ts'
import { outbox } from '../../platform/events-table.ts'
import { mfaFactors, mfaRecoveryCodes } from './table.ts'
import { totpStep } from './mfa-totp.ts'

// Codes are single-use per 30-second step, so tests move a faked clock (Date only; timers are real)
// to the next step between sign-ins, as a person waits for the next code.
let t: TestApp
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
  t = await createTestApp()
})
afterAll(async () => {
  await t.close()
  vi.useRealTimers()
})

const verify = (payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/verify', payload })
const eventTypes = async (userId: string) => (await t.app.db.select({ type: outbox.type }).from(outbox).where(eq(outbox.aggregate, `user:${userId}`))).map((r) => r.type)

describe('TOTP two-factor sign-in', () => {
  it('MF-01 enrols with a QR code, and then the password alone gives no session: only the challenge answered with a code does', async () => {
    const user = await makeUser(t.app)
    const { secret, otpauthUri, qrDataUrl, recoveryCodes } = await enrolTotp(t.app, user)
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/Backplane:.+\?.*secret=/)
    expect(qrDataUrl).toMatch(/^data:image\/svg\+xml;base64,/)
    expect(Buffer.from(qrDataUrl.split(',')[1]!, 'base64').toString()).toContain('<svg')
    expect(recoveryCodes).toHaveLength(10)
    // Sealed at rest: the stored secret is ciphertext, and the recovery codes are stored only as hashes.
    const [factor] = await t.app.db.select().from(mfaFactors).where(eq(mfaFactors.userId, user.id))
    expect(factor!.secretSealed).not.toContain(secret)
    expect(factor!.secretSealed).toMatch(/^v1\./)
    const stored = await t.app.db.select().from(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, user.id))
    expect(stored.map((r) => r.codeHash)).not.toContain(recoveryCodes[0])
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me/mfa' }))).json()).toEqual({ totp: true, recoveryCodesLeft: 10, required: false })

    const first = await passwordStep(t.app, user.email, user.password)
    expect(first.statusCode).toBe(202)
    const pending = first.json()
    expect(pending).toMatchObject({ status: 'mfa_required', methods: ['totp', 'recovery_code'], expiresIn: 300 })
    expect(pending.accessToken).toBeUndefined()
    expect(pending.refreshToken).toBeUndefined()
    // The challenge is no credential anywhere else.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${pending.challengeToken}` } })).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: pending.challengeToken } })).statusCode).toBe(401)

    const done = await verify({ challengeToken: pending.challengeToken, code: totpCode(secret) })
    expect(done.statusCode).toBe(200)
    const session = done.json()
    expect((await t.app.inject(as(session, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
    await expectAudit(t, { action: 'auth.login', outcome: 'success', actorId: user.id, targetId: session.sessionId })
    // Single use: the same challenge cannot start a second session.
    nextTotpStep()
    const again = await verify({ challengeToken: pending.challengeToken, code: totpCode(secret) })
    expect(again.statusCode).toBe(401)
    expect(again.json().code).toBe('MFA_CHALLENGE_INVALID')
    expect(await eventTypes(user.id)).toContain('mfa.enabled')
  })

  it('MF-01 the challenge expires after five minutes', async () => {
    const user = await makeUser(t.app)
    const { secret } = await enrolTotp(t.app, user)
    const { challengeToken } = (await passwordStep(t.app, user.email, user.password)).json()
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1000)
    const late = await verify({ challengeToken, code: totpCode(secret) })
    expect(late.statusCode).toBe(401)
    expect(late.json().code).toBe('MFA_CHALLENGE_INVALID')
  })

  it('MF-02 a code is usable once: the same code on a new challenge is refused and audited', async () => {
    const user = await makeUser(t.app)
    const { secret } = await enrolTotp(t.app, user)
    const code = totpCode(secret)
    const one = (await passwordStep(t.app, user.email, user.password)).json()
    expect((await verify({ challengeToken: one.challengeToken, code })).statusCode).toBe(200)
    const two = (await passwordStep(t.app, user.email, user.password)).json()
    const replay = await verify({ challengeToken: two.challengeToken, code })
    expect(replay.statusCode).toBe(401)
    expect(replay.json().code).toBe('MFA_CODE_INVALID')
    await expectAudit(t, { action: 'auth.mfa_failed', outcome: 'failure', targetId: user.id })
    expect(await eventTypes(user.id)).toContain('mfa.challenge_failed')
  })

  it('MF-03 accepts codes one step early or late and refuses two steps off', () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
    const now = Date.UTC(2026, 0, 1, 12, 0, 15)
    const step = Math.floor(now / 30_000)
    expect(totpStep(secret, totpCode(secret, now), now)).toBe(step)
    expect(totpStep(secret, totpCode(secret, now - 30_000), now)).toBe(step - 1)
    expect(totpStep(secret, totpCode(secret, now + 30_000), now)).toBe(step + 1)
    expect(totpStep(secret, totpCode(secret, now - 60_000), now)).toBeUndefined()
    expect(totpStep(secret, totpCode(secret, now + 60_000), now)).toBeUndefined()
    expect(totpStep(secret, 'abcdef', now)).toBeUndefined()
  })

  it('MF-03 a code from the next step signs in (a phone clock 30 s ahead)', async () => {
    const user = await makeUser(t.app)
    const { secret } = await enrolTotp(t.app, user)
    const { challengeToken } = (await passwordStep(t.app, user.email, user.password)).json()
    expect((await verify({ challengeToken, code: totpCode(secret, Date.now() + 30_000) })).statusCode).toBe(200)
  })

  it('MF-04 wrong codes end the challenge after 5 and lock the account after 10 failed steps, even with the right password in between', async () => {
    const user = await makeUser(t.app)
    const { secret } = await enrolTotp(t.app, user)
    const first = (await passwordStep(t.app, user.email, user.password)).json()
    for (let i = 0; i < 5; i++) expect((await verify({ challengeToken: first.challengeToken, code: '000000' })).json().code).toBe('MFA_CODE_INVALID')
    // The sixth answer meets a dead challenge, even with the right code.
    expect((await verify({ challengeToken: first.challengeToken, code: totpCode(secret) })).json().code).toBe('MFA_CHALLENGE_INVALID')
    // The right password again does not reset the count: 1 + 5 failures so far, then 1 + 3 more = 10.
    const second = (await passwordStep(t.app, user.email, user.password)).json()
    const replies = []
    for (let i = 0; i < 3; i++) replies.push((await verify({ challengeToken: second.challengeToken, code: '000000' })).json().code)
    expect(replies).toEqual(['MFA_CODE_INVALID', 'MFA_CODE_INVALID', 'MFA_LOCKED'])
    const locked = await verify({ challengeToken: second.challengeToken, code: totpCode(secret) })
    expect(locked.statusCode).toBe(401)
    expect(locked.json().code).toBe('MFA_LOCKED')
    expect((await passwordStep(t.app, user.email, user.password)).statusCode).toBe(401)
    await expectAudit(t, { action: 'auth.account_locked', outcome: 'failure', targetId: user.id })
  })

  it('MF-05 recovery codes work once each, are counted, and regeneration retires the old set', async () => {
    const user = await makeUser(t.app)
    const { recoveryCodes } = await enrolTotp(t.app, user)
    const code = recoveryCodes[3]!
    const one = (await passwordStep(t.app, user.email, user.password)).json()
    // People type codes in lower case and without dashes.
    const used = await verify({ challengeToken: one.challengeToken, recoveryCode: code.toLowerCase().replaceAll('-', '') })
    expect(used.statusCode).toBe(200)
    const session = used.json()
    await expectAudit(t, { action: 'mfa.recovery_code_used', outcome: 'success', actorId: user.id })
    expect(await eventTypes(user.id)).toContain('mfa.recovery_code_used')
    expect((await t.app.inject(as(session, { method: 'GET', url: '/api/v1/users/me/mfa' }))).json().recoveryCodesLeft).toBe(9)

    const two = (await passwordStep(t.app, user.email, user.password)).json()
    expect((await verify({ challengeToken: two.challengeToken, recoveryCode: code })).json().code).toBe('MFA_CODE_INVALID')

    const fresh = await t.app.inject(as(session, { method: 'POST', url: '/api/v1/users/me/mfa/recovery-codes' }))
    expect(fresh.statusCode).toBe(200)
    const next = fresh.json().recoveryCodes as string[]
    expect(next).toHaveLength(10)
    expect(next).not.toContain(recoveryCodes[0])
    const three = (await passwordStep(t.app, user.email, user.password)).json()
    expect((await verify({ challengeToken: three.challengeToken, recoveryCode: recoveryCodes[0] })).statusCode).toBe(401)
    expect((await verify({ challengeToken: three.challengeToken, recoveryCode: next[0] })).statusCode).toBe(200)
    expect(await eventTypes(user.id)).toContain('mfa.recovery_codes_regenerated')
  })

  it('MF-07 turning MFA off needs the password again; then the password alone signs in', async () => {
    const user = await makeUser(t.app)
    await enrolTotp(t.app, user)
    const wrong = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/disable', payload: { password: 'not-my-password-at-all' } }))
    expect(wrong.statusCode).toBe(403)
    expect((await passwordStep(t.app, user.email, user.password)).statusCode).toBe(202)
    const off = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/disable', payload: { password: user.password } }))
    expect(off.statusCode).toBe(204)
    await expectAudit(t, { action: 'mfa.disabled', outcome: 'success', actorId: user.id })
    expect(await eventTypes(user.id)).toContain('mfa.disabled')
    expect((await passwordStep(t.app, user.email, user.password)).statusCode).toBe(200)
  })

  it('MF-07 a wrong first code does not turn MFA on, and a second enrolment of an enrolled account is refused', async () => {
    const user = await makeUser(t.app)
    await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/totp' }))
    const bad = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/totp/confirm', payload: { code: '000000' } }))
    expect(bad.statusCode).toBe(401)
    expect((await passwordStep(t.app, user.email, user.password)).statusCode).toBe(200)
    await enrolTotp(t.app, user)
    expect((await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/totp' }))).json().code).toBe('MFA_ALREADY_ENABLED')
  })

  it('refuses malformed second-step input with 400 problem+json', async () => {
    for (const payload of [{ challengeToken: 'x', code: '12345' }, { challengeToken: 'x', code: '1234567' }, { challengeToken: '', code: '123456' }, { challengeToken: 'x', code: '123456', extra: 1 }]) {
      const res = await verify(payload)
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/)
    }
  })
})
