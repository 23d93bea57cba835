import { randomBytes } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { makeUser, uniqueEmail } from '../../../test/helpers/auth.ts'

// LG-02: unique canary secrets go through every flow; none may show up in the logs, in an audit row
// or in a response body. The mailbox (t.mail) is where mailed tokens belong, so it is not checked.

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

const run = randomBytes(4).toString('hex')
const canary = (kind: string) => `Canary-${kind}-${run}-${randomBytes(9).toString('hex')}`

/** Client-chosen secrets: they must appear in no response at all. */
const sent = {
  registerPassword: canary('register'),
  weakPassword: `Cw${run}`,
  oversizedPassword: canary('oversized').repeat(40),
  wrongPassword: canary('wrong'),
  existingEmailPassword: canary('existing'),
  changedPassword: canary('changed'),
  wrongCurrentPassword: canary('current'),
  resetPassword: canary('reset'),
  unknownProperty: canary('property'),
  fakeRefreshToken: canary('refresh'),
  fakeResetToken: canary('resettoken'),
  fakeVerifyToken: canary('verify'),
  urlToken: canary('url'),
  apiKey: `bp_canary${run}${randomBytes(16).toString('hex')}`,
  bearer: `eyJhbGciOiJFZERTQSJ9.eyJjYW5hcnkiOiIke3J1bn0ifQ.${canary('bearer')}`
}

/** Server-issued secrets: each may appear only in the response that issued it. */
const issued = new Map<string, string>()
const responses: Array<{ label: string, body: string }> = []

async function call (label: string, options: InjectOptions) {
  const res = await t.app.inject(options)
  responses.push({ label, body: `${JSON.stringify(res.headers)}\n${res.body}` })
  return res
}

async function mailedToken (to: string, subject: RegExp): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const mail = t.mail.findLast((m) => m.to === to && subject.test(m.subject))
    const token = mail ? /token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1] : undefined
    if (token) return token
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`no mail "${subject.source}" to ${to}`)
}

describe('canary secrets never leak (LG-02)', () => {
  it('drives every flow with canaries', async () => {
    const email = uniqueEmail('canary')
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

    // Registration: accepted, refused as weak, too long, with an unknown property, and for a taken address.
    expect((await call('register', { method: 'POST', url: '/api/v1/auth/register', payload: { email, password: sent.registerPassword } })).statusCode).toBe(202)
    expect((await call('register weak', { method: 'POST', url: '/api/v1/auth/register', payload: { email: uniqueEmail(), password: sent.weakPassword } })).statusCode).toBe(400)
    expect((await call('register oversized', { method: 'POST', url: '/api/v1/auth/register', payload: { email: uniqueEmail(), password: sent.oversizedPassword } })).statusCode).toBe(400)
    expect((await call('register extra', { method: 'POST', url: '/api/v1/auth/register', payload: { email: uniqueEmail(), password: sent.registerPassword, secret: sent.unknownProperty } })).statusCode).toBe(400)
    expect((await call('register taken', { method: 'POST', url: '/api/v1/auth/register', payload: { email, password: sent.existingEmailPassword } })).statusCode).toBe(202)

    // Email verification with the mailed token, then a forged one.
    const verifyToken = await mailedToken(email, /Confirm/)
    issued.set(verifyToken, 'mail')
    expect((await call('verify', { method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: verifyToken } })).statusCode).toBe(204)
    expect((await call('verify forged', { method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: sent.fakeVerifyToken } })).statusCode).toBe(400)

    // Login: wrong password, then right; refresh: real rotation and a forged token.
    expect((await call('login wrong', { method: 'POST', url: '/api/v1/auth/login', payload: { email, password: sent.wrongPassword } })).statusCode).toBe(401)
    const loginRes = await call('login', { method: 'POST', url: '/api/v1/auth/login', payload: { email, password: sent.registerPassword } })
    expect(loginRes.statusCode).toBe(200)
    const first = loginRes.json() as { accessToken: string, refreshToken: string }
    issued.set(first.accessToken, 'login')
    issued.set(first.refreshToken, 'login')
    const refreshRes = await call('refresh', { method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: first.refreshToken } })
    expect(refreshRes.statusCode).toBe(200)
    const second = refreshRes.json() as { accessToken: string, refreshToken: string }
    issued.set(second.accessToken, 'refresh')
    issued.set(second.refreshToken, 'refresh')
    expect((await call('refresh forged', { method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: sent.fakeRefreshToken } })).statusCode).toBe(401)

    // Credentials where they do not belong: a forged bearer token, an API key, a token in the URL.
    expect((await call('bearer forged', { method: 'GET', url: '/api/v1/users/me', headers: bearer(sent.bearer) })).statusCode).toBe(401)
    expect((await call('api key', { method: 'GET', url: '/api/v1/admin/audit', headers: { 'x-api-key': sent.apiKey } })).statusCode).toBe(401)
    expect((await call('api key public', { method: 'GET', url: '/api/v1/instance', headers: { 'x-api-key': sent.apiKey } })).statusCode).toBe(200)
    expect((await call('url token', { method: 'GET', url: `/api/v1/users/me?access_token=${sent.urlToken}`, headers: bearer(second.accessToken) })).statusCode).toBe(401)
    expect((await call('me', { method: 'GET', url: '/api/v1/users/me', headers: bearer(second.accessToken) })).statusCode).toBe(200)

    // Password change: wrong current password, then right.
    const change = (label: string, currentPassword: string) => call(label, { method: 'POST', url: '/api/v1/users/me/password', headers: bearer(second.accessToken), payload: { currentPassword, newPassword: sent.changedPassword } })
    expect((await change('change wrong', sent.wrongCurrentPassword)).statusCode).toBe(403)
    expect((await change('change', sent.registerPassword)).statusCode).toBe(204)

    // Password reset with the mailed token (and a forged one), then sign in with the new password.
    expect((await call('forgot', { method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email } })).statusCode).toBe(202)
    const resetToken = await mailedToken(email, /Reset/)
    issued.set(resetToken, 'mail')
    expect((await call('reset forged', { method: 'POST', url: '/api/v1/auth/reset-password', payload: { token: sent.fakeResetToken, password: sent.resetPassword } })).statusCode).toBe(400)
    expect((await call('reset', { method: 'POST', url: '/api/v1/auth/reset-password', payload: { token: resetToken, password: sent.resetPassword } })).statusCode).toBe(204)
    const lastLogin = await call('login after reset', { method: 'POST', url: '/api/v1/auth/login', payload: { email, password: sent.resetPassword } })
    expect(lastLogin.statusCode).toBe(200)
    const third = lastLogin.json() as { accessToken: string, refreshToken: string }
    issued.set(third.accessToken, 'login after reset')
    issued.set(third.refreshToken, 'login after reset')
    expect((await call('logout', { method: 'POST', url: '/api/v1/auth/logout', headers: bearer(third.accessToken) })).statusCode).toBe(204)

    // An invitation token, mailed by an admin.
    const admin = await makeUser(t.app, { roles: ['admin'] })
    issued.set(admin.accessToken, 'helper')
    issued.set(admin.refreshToken, 'helper')
    const invited = uniqueEmail('invited')
    expect((await call('invite', { method: 'POST', url: '/api/v1/admin/invitations', headers: bearer(admin.accessToken), payload: { email: invited } })).statusCode).toBe(202)
    issued.set(await mailedToken(invited, /invited/), 'mail')

    // Every flow above that is audited has reached the table before the checks below.
    await expectAudit(t, { action: 'auth.logout', outcome: 'success' })
    await t.app.audit.flush()
  })

  it('finds no canary in the captured logs', () => {
    const logs = t.logs.text()
    expect(logs.length).toBeGreaterThan(0)
    for (const [name, value] of Object.entries(sent)) expect(logs.includes(value), `log holds ${name}`).toBe(false)
    for (const [value, where] of issued) expect(logs.includes(value), `log holds a token issued by ${where}`).toBe(false)
  })

  it('finds no canary in any audit row', async () => {
    const { rows } = await t.app.dbPool.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM audit_events a')
    // The flows above were recorded: the check below looked at real rows.
    const actions = rows.map((r) => (JSON.parse(r.row) as { action: string }).action)
    for (const action of ['user.registered', 'user.register_existing_email', 'auth.login', 'user.email_verified', 'user.password_change', 'user.password_changed', 'user.password_reset', 'auth.logout', 'user.invited']) {
      expect(actions, action).toContain(action)
    }
    const dump = rows.map((r) => r.row).join('\n')
    for (const [name, value] of Object.entries(sent)) expect(dump.includes(value), `audit holds ${name}`).toBe(false)
    for (const [value, where] of issued) expect(dump.includes(value), `audit holds a token issued by ${where}`).toBe(false)
  })

  it('finds no canary in any response, and each issued token only in the response that issued it', () => {
    expect(responses.length).toBeGreaterThan(20)
    for (const { label, body } of responses) {
      for (const [name, value] of Object.entries(sent)) expect(body.includes(value), `response "${label}" holds ${name}`).toBe(false)
      for (const [value, where] of issued) {
        if (label !== where) expect(body.includes(value), `response "${label}" holds a token issued by ${where}`).toBe(false)
      }
    }
  })
})
