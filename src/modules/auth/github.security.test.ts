import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { startStandInGithub, type GithubPerson, type StandInGithub } from '../../../test/helpers/github.ts'
import { land } from '../../../test/helpers/oidc.ts'
import { freePort } from '../../../test/helpers/process.ts'
import { oidcProviders, userIdentities } from './table.ts'

// GitHub is external, so a loopback server speaking its documented OAuth app and REST API stands in
// for it; Backplane listens on PUBLIC_URL and the test plays the browser between them.
const FRONTEND = 'http://app.example.test'
let t: TestApp
let gh: StandInGithub
let base: string
let admin: Awaited<ReturnType<typeof makeUser>>

beforeAll(async () => {
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  t = await createTestApp({ env: { PUBLIC_URL: base, CORS_ORIGINS: FRONTEND } })
  await t.app.listen({ host: '127.0.0.1', port })
  gh = await startStandInGithub(`${base}/api/v1/auth/oidc/callback`)
  admin = await makeUser(t.app, { roles: ['admin'] })
  const res = await t.app.inject(as(admin, {
    method: 'POST', url: '/api/v1/admin/identity-providers', payload: { slug: 'github', preset: 'github', clientId: gh.clientId, clientSecret: gh.clientSecret, endpoints: gh.endpoints }
  }))
  expect(res.statusCode, res.body).toBe(201)
  expect(res.json()).toMatchObject({ displayName: 'GitHub', scopes: 'read:user user:email' })
}, 60_000)
afterAll(async () => {
  await gh?.stop()
  await t?.close()
})

let n = 0
const someone = (emails: GithubPerson['emails']): GithubPerson => ({ id: 9_000_000 + (++n) * 1000 + (Date.now() % 1000), login: `octo-${n}`, name: `Octo ${n}`, emails })
const mail = () => `gh-${++n}-${Date.now()}@example.test`

/** toCallback starts a sign-in and lets the stand-in GitHub redirect back: Backplane's callback URL and the state. */
async function toCallback () {
  const start = await t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/github/start', payload: { returnTo: `${FRONTEND}/signed-in` } })
  expect(start.statusCode, start.body).toBe(200)
  const authorizationUrl = new URL(start.json().authorizationUrl)
  expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(gh.endpoints.authorization)
  expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256')
  const res = await fetch(authorizationUrl, { redirect: 'manual' })
  expect(res.status).toBe(302)
  return { callback: res.headers.get('location')!, state: authorizationUrl.searchParams.get('state')! }
}

const exchange = (loginCode: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/exchange', payload: { loginCode } })

describe('Sign in with GitHub (plain OAuth2)', () => {
  it('OI-11 full flow with state and PKCE: the account is keyed on GitHub\'s numeric id and takes the verified primary email', async () => {
    const primary = mail()
    const who = someone([{ email: mail(), verified: false, primary: false }, { email: mail(), verified: true, primary: false }, { email: primary, verified: true, primary: true }])
    gh.person = who
    const { location } = await land((await toCallback()).callback)
    expect(location!.origin).toBe(FRONTEND)
    const signedIn = await exchange(location!.searchParams.get('login_code')!)
    expect(signedIn.statusCode, signedIn.body).toBe(200)
    const me = (await t.app.inject(as(signedIn.json(), { method: 'GET', url: '/api/v1/users/me' }))).json()
    expect(me).toMatchObject({ email: primary, emailVerified: true, name: who.name })
    const [provider] = await t.app.db.select().from(oidcProviders).where(eq(oidcProviders.slug, 'github'))
    const [identity] = await t.app.db.select().from(userIdentities).where(eq(userIdentities.userId, me.id))
    expect(identity).toMatchObject({ providerId: provider!.id, subject: String(who.id), email: primary })
    // The same rotating refresh model as any sign-in.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: signedIn.json().refreshToken } })).statusCode).toBe(200)

    // A renamed login with a changed email is still the same person: the numeric id decides.
    gh.person = { ...who, login: 'renamed', emails: [{ email: mail(), verified: true, primary: true }] }
    const again = await exchange((await land((await toCallback()).callback)).location!.searchParams.get('login_code')!)
    expect((await t.app.inject(as(again.json(), { method: 'GET', url: '/api/v1/users/me' }))).json().id).toBe(me.id)
  })

  it('OI-12 a tampered or replayed state is refused before any code exchange, with an audit record', async () => {
    gh.person = someone([{ email: mail(), verified: true, primary: true }])
    const { callback, state } = await toCallback()
    const before = gh.tokenRequests
    const tampered = await land(callback.replace(`state=${state}`, `state=${state}x`))
    expect(tampered.status).toBe(400)
    expect(tampered.body?.code).toBe('OIDC_STATE_INVALID')
    expect(gh.tokenRequests).toBe(before)
    await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'failure' })
    expect((await land(callback)).location!.searchParams.has('login_code')).toBe(true)
    expect((await land(callback)).body?.code).toBe('OIDC_STATE_INVALID')
  })

  it('OI-13 only emails GitHub marks verified count: none creates or links nothing, not even onto an account with that address', async () => {
    const victim = await makeUser(t.app)
    gh.person = someone([{ email: victim.email, verified: false, primary: true }])
    const requestId = `github-unverified-${Date.now()}`
    const { location } = await land((await toCallback()).callback, requestId)
    expect(location!.searchParams.get('error')).toBe('email_not_verified')
    expect(location!.searchParams.has('link_token')).toBe(false)
    expect(await t.app.db.select().from(userIdentities).where(eq(userIdentities.userId, victim.id))).toHaveLength(0)
    await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'failure', requestId })
  })

  it('OI-14 a verified email of an existing account links only after its owner confirms with the password', async () => {
    const owner = await makeUser(t.app)
    gh.person = someone([{ email: owner.email, verified: true, primary: true }])
    const { location } = await land((await toCallback()).callback)
    expect(location!.searchParams.has('login_code')).toBe(false)
    expect(location!.searchParams.get('provider')).toBe('github')
    const linkToken = location!.searchParams.get('link_token')!
    await expectAudit(t, { action: 'auth.oidc_link_required', outcome: 'success', targetId: owner.id })
    const confirm = (password: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/link/confirm', payload: { linkToken, password } })
    expect((await confirm('not-the-password-1')).statusCode).toBe(403)
    expect(await t.app.db.select().from(userIdentities).where(eq(userIdentities.userId, owner.id))).toHaveLength(0)
    const ok = await confirm(owner.password)
    expect(ok.statusCode, ok.body).toBe(200)
    expect((await t.app.inject(as(ok.json(), { method: 'GET', url: '/api/v1/users/me' }))).json().id).toBe(owner.id)
    await expectAudit(t, { action: 'auth.identity_linked', outcome: 'success', actorId: owner.id })
  })

  it('OI-15 GitHub provider settings: https endpoints only outside loopback, secret required, no endpoints on OpenID Connect', async () => {
    const add = (payload: Record<string, unknown>) => t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/identity-providers', payload }))
    const bad = await add({ slug: 'gh-http', preset: 'github', clientId: 'x', clientSecret: 'y', endpoints: { token: 'http://github.example/login/oauth/access_token' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/)
    expect((await add({ slug: 'gh-nosecret', preset: 'github', clientId: 'x' })).statusCode).toBe(400)
    expect((await add({ slug: 'gh-nohost', preset: 'github', clientId: 'x', clientSecret: 'y', endpoints: { user: 'https://' } })).statusCode).toBe(400)
    expect((await add({ slug: 'oidc-eps', preset: 'google', clientId: 'x', endpoints: { token: 'https://x.example/t' } })).statusCode).toBe(400)
    const preset = await add({ slug: 'gh-default', preset: 'github', clientId: 'x', clientSecret: 'y' })
    expect(preset.statusCode).toBe(201)
    const [row] = await t.app.db.select().from(oidcProviders).where(eq(oidcProviders.slug, 'gh-default'))
    expect(row!.endpoints).toEqual({ authorization: 'https://github.com/login/oauth/authorize', token: 'https://github.com/login/oauth/access_token', user: 'https://api.github.com/user' })
    expect(row!.clientSecretSealed).not.toContain('y"')
  })
})
