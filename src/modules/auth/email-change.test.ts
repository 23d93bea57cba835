import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, uniqueEmail } from '../../../test/helpers/auth.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

const tokenIn = (text: string) => /token=([A-Za-z0-9_-]+)/.exec(text)?.[1]

describe('changing the email address (AU-10)', () => {
  it('needs the current password, a confirmation from the new address, and tells the old one', async () => {
    const user = await makeUser(t.app)
    const newEmail = uniqueEmail('moved')
    const stolen = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/email', payload: { newEmail, currentPassword: 'not-the-password' } }))
    expect(stolen.statusCode).toBe(403)
    expect(t.mail.some((m) => m.to === newEmail)).toBe(false)

    const asked = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/email', payload: { newEmail, currentPassword: user.password } }))
    expect(asked.statusCode).toBe(202)
    expect(t.mail.find((m) => m.to === user.email)?.subject).toBe('An email change was requested')
    const confirm = t.mail.find((m) => m.to === newEmail)
    expect(confirm?.subject).toBe('Confirm your new email address')
    // Nothing changes until the new address confirms.
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me' }))).json().email).toBe(user.email)

    const token = tokenIn(confirm!.text)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/confirm-email-change', payload: { token } })).statusCode).toBe(204)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/confirm-email-change', payload: { token } })).statusCode).toBe(400)
    const me = (await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me' }))).json()
    expect(me).toMatchObject({ email: newEmail, emailVerified: true })
    await login(t.app, newEmail, user.password)
    expect(t.mail.filter((m) => m.to === user.email).map((m) => m.subject)).toContain('Your email address was changed')
  })

  it('answers the same for a taken address and sends it no link', async () => {
    const user = await makeUser(t.app)
    const other = await makeUser(t.app)
    const res = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/email', payload: { newEmail: other.email, currentPassword: user.password } }))
    expect(res.statusCode).toBe(202)
    expect(t.mail.some((m) => m.to === other.email && m.subject === 'Confirm your new email address')).toBe(false)
  })
})
