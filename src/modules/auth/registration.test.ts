import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, strongPassword, uniqueEmail, type TestUser } from '../../../test/helpers/auth.ts'

const LINKS = 'https://app.example.test/account'

async function mailTo (t: TestApp, email: string, subject: RegExp) {
  for (let i = 0; i < 100 && !t.mail.some((m) => m.to === email && subject.test(m.subject)); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  const mail = t.mail.find((m) => m.to === email && subject.test(m.subject))
  if (!mail) throw new Error(`no mail "${String(subject)}" to ${email}`)
  return mail
}

const tokenIn = (text: string) => decodeURIComponent(/token=([A-Za-z0-9_%-]+)/.exec(text)![1]!)
const register = (t: TestApp, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload })

describe('AUTH_REGISTRATION=invite', () => {
  let t: TestApp
  let admin: TestUser
  beforeAll(async () => {
    t = await createTestApp({ env: { AUTH_REGISTRATION: 'invite', AUTH_LINK_URL: `${LINKS}/` } })
    admin = await makeUser(t.app, { roles: ['admin'] })
  })
  afterAll(async () => { await t.close() })

  async function invite (email: string): Promise<string> {
    const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/invitations', payload: { email } }))
    expect(res.statusCode).toBe(202)
    const mail = await mailTo(t, email, /invited/)
    // The link opens the frontend's page (AUTH_LINK_URL, trailing slash dropped), which has the email to fill in.
    expect(mail.text).toContain(`${LINKS}/register?token=`)
    expect(mail.text).toContain(`&email=${encodeURIComponent(email)}`)
    return tokenIn(mail.text)
  }

  it('refuses registration without an invitation, or with one made for another address', async () => {
    const email = uniqueEmail('invitee')
    const token = await invite(email)
    expect((await register(t, { email, password: strongPassword() })).json()).toMatchObject({ status: 403, code: 'INVITATION_REQUIRED' })
    const other = await register(t, { email: uniqueEmail('other'), password: strongPassword(), inviteToken: token })
    expect(other.json()).toMatchObject({ status: 403, code: 'INVITATION_REQUIRED' })
  })

  it('keeps the invitation when the password is refused, then registers once with a verified address', async () => {
    const email = uniqueEmail('invitee')
    const inviteToken = await invite(email)
    const weak = await register(t, { email, password: 'short', inviteToken })
    expect(weak.json()).toMatchObject({ status: 400, code: 'WEAK_PASSWORD' })
    const password = strongPassword()
    expect((await register(t, { email, password, inviteToken })).statusCode).toBe(202)
    const me = await t.app.inject(as(await login(t.app, email, password), { method: 'GET', url: '/api/v1/users/me' }))
    expect(me.json()).toMatchObject({ email, emailVerified: true })
    const again = await register(t, { email: uniqueEmail('late'), password: strongPassword(), inviteToken })
    expect(again.json()).toMatchObject({ status: 403, code: 'INVITATION_REQUIRED' })
  })
})

describe('AUTH_REGISTRATION=closed', () => {
  let t: TestApp
  let admin: TestUser
  let user: TestUser
  beforeAll(async () => {
    t = await createTestApp({ env: { AUTH_REGISTRATION: 'closed', PUBLIC_URL: 'https://api.example.test' } })
    admin = await makeUser(t.app, { roles: ['admin'] })
    user = await makeUser(t.app)
  })
  afterAll(async () => { await t.close() })

  it('refuses self-registration and invitations (which could never be used)', async () => {
    expect((await register(t, { email: uniqueEmail(), password: strongPassword() })).json()).toMatchObject({ status: 403, code: 'REGISTRATION_CLOSED' })
    const invited = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/invitations', payload: { email: uniqueEmail() } }))
    expect(invited.json()).toMatchObject({ status: 409, code: 'INVITATIONS_OFF' })
  })

  it('lets an admin create an account whose owner sets a password from the mailed link (PUBLIC_URL by default)', async () => {
    const email = uniqueEmail('created')
    const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/users', payload: { email, name: 'Lin', roles: ['user'] } }))
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({ email, name: 'Lin', roles: ['user'], status: 'active', emailVerified: false })
    expect(res.body).not.toMatch(/argon2|passwordHash|token/i)
    const mail = await mailTo(t, email, /account/)
    expect(mail.text).toContain('https://api.example.test/reset-password?token=')
    // No password yet: nothing signs in until the owner chooses one.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: strongPassword() } })).statusCode).toBe(401)
    const password = strongPassword()
    const set = await t.app.inject({ method: 'POST', url: '/api/v1/auth/reset-password', payload: { token: tokenIn(mail.text), password } })
    expect(set.statusCode).toBe(204)
    const me = await t.app.inject(as(await login(t.app, email, password), { method: 'GET', url: '/api/v1/users/me' }))
    expect(me.json()).toMatchObject({ email, emailVerified: true })
  })

  it('answers a taken address, an unknown role, extra fields and a regular user as the rules say', async () => {
    const create = (who: TestUser, payload: Record<string, unknown>) => t.app.inject(as(who, { method: 'POST', url: '/api/v1/admin/users', payload }))
    expect((await create(admin, { email: user.email })).json()).toMatchObject({ status: 409, code: 'EMAIL_TAKEN' })
    expect((await create(admin, { email: uniqueEmail(), roles: ['root'] })).json()).toMatchObject({ status: 400, code: 'UNKNOWN_ROLE' })
    expect((await create(admin, { email: uniqueEmail(), passwordHash: 'x' })).statusCode).toBe(400)
    expect((await create(user, { email: uniqueEmail() })).statusCode).toBe(403)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/admin/users', payload: { email: uniqueEmail() } })).statusCode).toBe(401)
  })
})
