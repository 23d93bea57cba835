import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, strongPassword, uniqueEmail } from '../../../test/helpers/auth.ts'
import { nextTotpStep, passwordStep, totpCode } from '../../../test/helpers/mfa.ts'
import { hashPassword } from './passwords.ts'

let t: TestApp
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
  t = await createTestApp({ env: { AUTH_MFA_REQUIRED: 'admins' } })
})
afterAll(async () => {
  await t.close()
  vi.useRealTimers()
})

async function account (roles: string[]) {
  const email = uniqueEmail()
  const password = strongPassword()
  const row = await t.app.users.create({ email, passwordHash: await hashPassword(password), roles, emailVerified: true })
  return { id: row.id, email, password }
}

describe('AUTH_MFA_REQUIRED=admins', () => {
  it('MF-06 leads an unenrolled admin through enrolment before any session, and then asks for codes', async () => {
    const admin = await account(['admin'])
    const first = await passwordStep(t.app, admin.email, admin.password)
    expect(first.statusCode).toBe(202)
    const pending = first.json()
    expect(pending).toMatchObject({ status: 'mfa_enrolment_required', methods: ['totp'] })
    // The enrolment challenge is no second-factor challenge.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/verify', payload: { challengeToken: pending.challengeToken, code: '123456' } })).json().code).toBe('MFA_CHALLENGE_INVALID')

    const enrolment = await t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/enrolment', payload: { challengeToken: pending.challengeToken } })
    expect(enrolment.statusCode).toBe(200)
    const { secret, qrDataUrl } = enrolment.json()
    expect(qrDataUrl).toMatch(/^data:image\/svg\+xml;base64,/)
    const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/enrolment/confirm', payload: { challengeToken: pending.challengeToken, code: '000000' } })
    expect(wrong.statusCode).toBe(401)
    const done = await t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/enrolment/confirm', payload: { challengeToken: pending.challengeToken, code: totpCode(secret) } })
    expect(done.statusCode).toBe(200)
    const session = done.json()
    expect(session.recoveryCodes).toHaveLength(10)
    expect((await t.app.inject(as(session, { method: 'GET', url: '/api/v1/admin/users' }))).statusCode).toBe(200)
    await expectAudit(t, { action: 'mfa.enabled', outcome: 'success', actorId: admin.id })
    // The policy keeps it on.
    const off = await t.app.inject(as(session, { method: 'POST', url: '/api/v1/users/me/mfa/disable', payload: { password: admin.password } }))
    expect(off.json().code).toBe('MFA_REQUIRED_BY_POLICY')

    nextTotpStep()
    const next = await passwordStep(t.app, admin.email, admin.password)
    expect(next.json().status).toBe('mfa_required')
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/verify', payload: { challengeToken: next.json().challengeToken, code: totpCode(secret) } })).statusCode).toBe(200)
  })

  it('MF-06 lets a regular user sign in with a password alone', async () => {
    const user = await account(['user'])
    expect((await passwordStep(t.app, user.email, user.password)).statusCode).toBe(200)
  })
})
