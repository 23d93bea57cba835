import { eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { expectAudit } from '../../test/helpers/audit.ts'
import { as, makeUser, strongPassword, type TestUser } from '../../test/helpers/auth.ts'
import { enrolTotp, totpCode } from '../../test/helpers/mfa.ts'
import { sessions } from '../modules/auth/table.ts'

let t: TestApp
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
  t = await createTestApp({ env: { AUTH_STEP_UP_SECONDS: '300' } })
})
afterAll(async () => {
  await t.close()
  vi.useRealTimers()
})

/** staleSession makes the user's sign-in an hour old and returns fresh tokens that carry that auth_time. */
async function staleSession (user: TestUser): Promise<TestUser> {
  await t.app.db.update(sessions).set({ authenticatedAt: sql`now() - interval '1 hour'` }).where(eq(sessions.id, user.sessionId))
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: user.refreshToken } })
  expect(res.statusCode).toBe(200)
  return { ...user, ...res.json() }
}

function expectStepUp (res: { statusCode: number, headers: Record<string, unknown>, json: () => { code: string } }) {
  expect(res.statusCode).toBe(401)
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/)
  expect(res.json().code).toBe('STEP_UP_REQUIRED')
  expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=300')
}

describe('step-up: sensitive actions need a recent authentication', () => {
  it('SU-01 refuses password, email, MFA, admin key and account-deletion changes on an old sign-in, with a problem that says to re-authenticate', async () => {
    const admin = await staleSession(await makeUser(t.app, { roles: ['admin'] }))
    const victim = await makeUser(t.app)
    const attempts = [
      { method: 'POST' as const, url: '/api/v1/users/me/password', payload: { currentPassword: admin.password, newPassword: strongPassword() } },
      { method: 'POST' as const, url: '/api/v1/users/me/email', payload: { newEmail: 'new@example.test', currentPassword: admin.password } },
      { method: 'POST' as const, url: '/api/v1/users/me/mfa/totp' },
      { method: 'POST' as const, url: '/api/v1/users/me/mfa/recovery-codes' },
      { method: 'POST' as const, url: '/api/v1/users/me/mfa/disable', payload: { password: admin.password } },
      { method: 'POST' as const, url: '/api/v1/api-keys', payload: { name: 'ops', scopes: ['user:read'] } },
      { method: 'DELETE' as const, url: `/api/v1/admin/users/${victim.id}` }
    ]
    for (const attempt of attempts) expectStepUp(await t.app.inject(as(admin, attempt)))
    // Nothing happened: the victim still signs in, and non-sensitive reads still work.
    expect((await t.app.inject(as(victim, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
    expect((await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
  })

  it('SU-01 re-authentication with the password (and the TOTP code when on) gives a token that passes', async () => {
    const fresh = await makeUser(t.app)
    const { secret } = await enrolTotp(t.app, fresh)
    const user = await staleSession(fresh)
    expectStepUp(await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/recovery-codes' })))
    const noCode = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/reauthenticate', payload: { password: user.password } }))
    expect(noCode.statusCode).toBe(401)
    const wrongPassword = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/reauthenticate', payload: { password: 'wrong-password-123', code: totpCode(secret) } }))
    expect(wrongPassword.statusCode).toBe(403)
    const ok = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/reauthenticate', payload: { password: user.password, code: totpCode(secret) } }))
    expect(ok.statusCode).toBe(200)
    const stepped = { ...user, accessToken: ok.json().accessToken as string }
    expect((await t.app.inject(as(stepped, { method: 'POST', url: '/api/v1/users/me/mfa/recovery-codes' }))).statusCode).toBe(200)
    await expectAudit(t, { action: 'auth.reauthenticated', outcome: 'success', actorId: user.id })
    // The session keeps its new auth_time across refreshes.
    const refreshed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: user.refreshToken } })
    expect((await t.app.inject(as(refreshed.json(), { method: 'POST', url: '/api/v1/users/me/mfa/recovery-codes' }))).statusCode).toBe(200)
  })

  it('SU-01 a regular user creating a plain API key is not asked to step up', async () => {
    const user = await staleSession(await makeUser(t.app))
    expect((await t.app.inject(as(user, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: ['project:read'] } }))).statusCode).toBe(201)
  })
})
