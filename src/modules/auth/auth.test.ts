import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, strongPassword, uniqueEmail } from '../../../test/helpers/auth.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

describe('register, sign in, use, refresh, sign out', () => {
  it('walks the whole flow', async () => {
    const email = uniqueEmail()
    const password = strongPassword()
    const reg = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password, name: 'Ada' } })
    expect(reg.statusCode).toBe(202)
    const tokens = await login(t.app, email, password)
    expect(tokens.accessToken.split('.')).toHaveLength(3)
    const me = await t.app.inject(as(tokens, { method: 'GET', url: '/api/v1/users/me' }))
    expect(me.statusCode).toBe(200)
    expect(me.json()).toMatchObject({ email, name: 'Ada', roles: ['user'], status: 'active', emailVerified: false })
    expect(me.body).not.toMatch(/argon2|passwordHash|password_hash/)

    const refreshed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: tokens.refreshToken } })
    expect(refreshed.statusCode).toBe(200)
    const next = refreshed.json()
    expect(next.refreshToken).not.toBe(tokens.refreshToken)
    expect(next.sessionId).toBe(tokens.sessionId)

    const out = await t.app.inject(as(next, { method: 'POST', url: '/api/v1/auth/logout' }))
    expect(out.statusCode).toBe(204)
    const after = await t.app.inject(as(next, { method: 'GET', url: '/api/v1/users/me' }))
    expect(after.statusCode).toBe(401)
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: next.refreshToken } })
    expect(again.statusCode).toBe(401)
  })

  it('mails a verification link that verifies once', async () => {
    const email = uniqueEmail()
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: strongPassword() } })
    // The mail goes out after the reply (so timing reveals nothing): wait for it.
    for (let i = 0; i < 100 && !t.mail.some((m) => m.to === email); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    const mail = t.mail.find((m) => m.to === email)
    expect(mail?.subject).toBe('Confirm your email address')
    const token = /token=([A-Za-z0-9_-]+)/.exec(mail!.text)![1]!
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token } })).statusCode).toBe(204)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token } })).statusCode).toBe(400)
  })

  it('serves the JWKS with the signing key', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    expect(res.statusCode).toBe(200)
    const { keys } = res.json()
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    expect(keys[0].d).toBeUndefined()
  })

  it('lets an admin list users and refuses a regular user', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const user = await makeUser(t.app)
    expect((await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/users' }))).statusCode).toBe(200)
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/admin/users' }))).statusCode).toBe(403)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/users' })).statusCode).toBe(401)
  })
})
