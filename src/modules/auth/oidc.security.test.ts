import { eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { browse, land, startTestProvider, type TestProvider } from '../../../test/helpers/oidc.ts'
import { freePort } from '../../../test/helpers/process.ts'
import { readmeBlock } from '../../../test/helpers/readme.ts'
import { spawn, spawnSync } from 'node:child_process'
import { authChallenges, oidcProviders, userIdentities } from './table.ts'

// A real OpenID Connect provider (oidc-provider) runs in a child process on loopback; Backplane
// listens on PUBLIC_URL, and the test plays the browser between them (redirects and cookies).
const FRONTEND = 'http://app.example.test'
let t: TestApp
let op: TestProvider
let base: string
let admin: Awaited<ReturnType<typeof makeUser>>

beforeAll(async () => {
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  t = await createTestApp({ env: { PUBLIC_URL: base, CORS_ORIGINS: `${FRONTEND},http://localhost:5173` } })
  await t.app.listen({ host: '127.0.0.1', port })
  op = await startTestProvider(`${base}/api/v1/auth/oidc/callback`)
  admin = await makeUser(t.app, { roles: ['admin'] })
  await addProvider('company')
}, 60_000)
afterAll(async () => {
  await op?.stop()
  await t?.close()
})

async function addProvider (slug: string) {
  const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/identity-providers', payload: { slug, preset: 'generic', issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret } }))
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}

let n = 0
const person = (over: { email_verified?: boolean, email?: string } = {}) => {
  n++
  return { sub: `sub-${n}-${Date.now()}`, email: `oidc-${n}-${Date.now()}@example.test`, email_verified: true, name: `Person ${n}`, ...over }
}

/** flow starts a sign-in, lets the provider sign `account` in, and returns Backplane's callback URL and the state. */
async function toCallback (provider = 'company', path = `/api/v1/auth/oidc/${provider}/start`, user?: { accessToken: string }) {
  const start = await t.app.inject({ method: 'POST', url: path, payload: { returnTo: `${FRONTEND}/signed-in`, ...(user ? { provider } : {}) }, ...(user ? { headers: { authorization: `Bearer ${user.accessToken}` } } : {}) })
  expect(start.statusCode, start.body).toBe(200)
  const authorizationUrl = new URL(start.json().authorizationUrl)
  expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256')
  expect(authorizationUrl.searchParams.get('nonce')).toBeTruthy()
  const callback = await browse(authorizationUrl.toString(), `${base}/api/v1/auth/oidc/callback`)
  return { callback, state: authorizationUrl.searchParams.get('state')! }
}

const exchange = (loginCode: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/exchange', payload: { loginCode } })

describe('OpenID Connect sign-in', () => {
  it('OI-01 full code flow with PKCE: a new person gets an account and a normal Backplane session', async () => {
    const who = person()
    await op.control({ account: who })
    const { location } = await land((await toCallback()).callback)
    expect(location!.origin).toBe(FRONTEND)
    const loginCode = location!.searchParams.get('login_code')!
    expect(location!.searchParams.has('access_token')).toBe(false)
    const signedIn = await exchange(loginCode)
    expect(signedIn.statusCode).toBe(200)
    const tokens = signedIn.json()
    const me = await t.app.inject(as(tokens, { method: 'GET', url: '/api/v1/users/me' }))
    expect(me.json()).toMatchObject({ email: who.email, emailVerified: true, name: who.name })
    // Same rotating refresh model; and the login code was single-use.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: tokens.refreshToken } })).statusCode).toBe(200)
    expect((await exchange(loginCode)).json().code).toBe('OIDC_CODE_INVALID')
    await expectAudit(t, { action: 'auth.identity_linked', outcome: 'success', actorId: me.json().id })

    // Signing in again finds the linked identity.
    const again = await land((await toCallback()).callback)
    const second = await exchange(again.location!.searchParams.get('login_code')!)
    expect((await t.app.inject(as(second.json(), { method: 'GET', url: '/api/v1/users/me' }))).json().id).toBe(me.json().id)
  })

  it('OI-02 a tampered or replayed state is refused with a clear error and an audit record', async () => {
    await op.control({ account: person() })
    const { callback, state } = await toCallback()
    const tampered = await land(callback.replace(`state=${state}`, `state=${state}x`))
    expect(tampered.status).toBe(400)
    expect(tampered.body?.code).toBe('OIDC_STATE_INVALID')
    await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'failure' })
    expect((await land(callback)).location!.searchParams.has('login_code')).toBe(true)
    expect((await land(callback)).body?.code).toBe('OIDC_STATE_INVALID')
  })

  it('OI-03 an ID token with the wrong nonce is refused', async () => {
    await op.control({ account: person() })
    const { callback, state } = await toCallback()
    // The flow's stored nonce no longer matches the one the provider put in the ID token.
    const hash = (await t.app.db.select({ id: authChallenges.id, data: authChallenges.data }).from(authChallenges).where(eq(authChallenges.purpose, 'oidc')).orderBy(sql`created_at desc`).limit(1))[0]!
    await t.app.db.update(authChallenges).set({ data: { ...(hash.data as object), nonce: 'another-nonce' } }).where(eq(authChallenges.id, hash.id))
    const requestId = `oidc-nonce-${Date.now()}`
    const { location } = await land(callback, requestId)
    expect(state).toBeTruthy()
    expect(location!.searchParams.get('error')).toBe('id_token_invalid')
    const row = await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'failure', requestId })
    expect(JSON.stringify(row.details)).toMatch(/nonce/)
  })

  it('OI-04 an expired ID token is refused', async () => {
    await op.control({ account: person() })
    const { callback } = await toCallback()
    // The provider issues the tokens from a clock two hours behind: the ID token expired an hour ago.
    await op.control({ clockOffsetMs: -2 * 3600_000 })
    const requestId = `oidc-expired-${Date.now()}`
    try {
      expect((await land(callback, requestId)).location!.searchParams.get('error')).toBe('id_token_invalid')
    } finally { await op.control({ clockOffsetMs: 0 }) }
    const row = await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'failure', requestId })
    expect(JSON.stringify(row.details)).toMatch(/exp/)
  })

  it('OI-05 an ID token signed with a key that is not in the provider\'s JWKS is refused', async () => {
    // A provider entry of its own, so that no JWKS fetched earlier is cached for it.
    const slug = `jwks-${Date.now()}`
    await addProvider(slug)
    await op.control({ account: person(), wrongJwks: true })
    const requestId = `oidc-jwks-${Date.now()}`
    try {
      const { callback } = await toCallback(slug)
      expect((await land(callback, requestId)).location!.searchParams.get('error')).toBe('id_token_invalid')
    } finally { await op.control({ wrongJwks: false }) }
    const row = await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'failure', requestId })
    expect(JSON.stringify(row.details)).toMatch(/signature/i)
  })

  it('OI-06 a provider email that is not verified creates and links nothing', async () => {
    const who = person({ email_verified: false })
    await op.control({ account: who })
    const { location } = await land((await toCallback()).callback)
    expect(location!.searchParams.get('error')).toBe('email_not_verified')
    expect(await t.app.users.findForLogin(who.email)).toBeUndefined()
    // Not even onto an existing account with that address (no takeover through an unverified email).
    const victim = await makeUser(t.app)
    await op.control({ account: person({ email: victim.email, email_verified: false }) })
    expect((await land((await toCallback()).callback)).location!.searchParams.get('error')).toBe('email_not_verified')
    expect(await t.app.db.select().from(userIdentities).where(eq(userIdentities.userId, victim.id))).toHaveLength(0)
    await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'failure' })
  })

  it('OI-07 a verified email of an existing account links only after its owner confirms with the password', async () => {
    const owner = await makeUser(t.app)
    await op.control({ account: person({ email: owner.email }) })
    const { location } = await land((await toCallback()).callback)
    expect(location!.searchParams.has('login_code')).toBe(false)
    const linkToken = location!.searchParams.get('link_token')!
    const confirm = (password: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/link/confirm', payload: { linkToken, password } })
    expect((await confirm('not-the-password-1')).statusCode).toBe(403)
    const ok = await confirm(owner.password)
    expect(ok.statusCode).toBe(200)
    expect((await t.app.inject(as(ok.json(), { method: 'GET', url: '/api/v1/users/me' }))).json().id).toBe(owner.id)
    await expectAudit(t, { action: 'auth.identity_linked', outcome: 'success', actorId: owner.id })
    expect((await confirm(owner.password)).json().code).toBe('OIDC_LINK_INVALID')
  })

  it('OI-08 link and unlink from the account, never removing the last way to sign in', async () => {
    // An account made by the provider has no password: its one identity cannot be unlinked.
    await op.control({ account: person() })
    const made = await exchange((await land((await toCallback()).callback)).location!.searchParams.get('login_code')!)
    const oidcUser = made.json()
    const [identity] = (await t.app.inject(as(oidcUser, { method: 'GET', url: '/api/v1/users/me/identities' }))).json().items
    const last = await t.app.inject(as(oidcUser, { method: 'DELETE', url: `/api/v1/users/me/identities/${identity.id}` }))
    expect(last.statusCode).toBe(409)
    expect(last.json().code).toBe('LAST_SIGN_IN_METHOD')

    // A password account links a provider from its settings, then unlinks it.
    const user = await makeUser(t.app)
    await op.control({ account: person() })
    const { callback } = await toCallback('company', '/api/v1/users/me/identities', user)
    expect((await land(callback)).location!.searchParams.get('linked')).toBe('company')
    const items = (await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me/identities' }))).json().items
    expect(items).toHaveLength(1)
    expect((await t.app.inject(as(user, { method: 'DELETE', url: `/api/v1/users/me/identities/${items[0].id}` }))).statusCode).toBe(204)
    await expectAudit(t, { action: 'auth.identity_unlinked', outcome: 'success', actorId: user.id })
    // Another user's identity id is not found.
    expect((await t.app.inject(as(user, { method: 'DELETE', url: `/api/v1/users/me/identities/${identity.id}` }))).statusCode).toBe(404)
  })

  it('OI-09 refuses to send the browser back to an unregistered origin, and audits it', async () => {
    for (const returnTo of ['https://evil.example/steal', 'http://app.example.test.evil.example/x', 'javascript:alert(1)']) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/company/start', payload: { returnTo } })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/)
    }
    await expectAudit(t, { action: 'auth.oidc_failed', outcome: 'denied' })
  })

  it('OI-10 stores the client secret sealed and never shows it', async () => {
    const [row] = await t.app.db.select().from(oidcProviders).where(eq(oidcProviders.slug, 'company'))
    expect(row!.clientSecretSealed).not.toContain(op.clientSecret)
    const list = await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/identity-providers' }))
    expect(list.body).not.toContain(op.clientSecret)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/providers' })).json().items).toContainEqual({ slug: 'company', displayName: 'company' })
  })
})

const shellTools = spawnSync('sh', ['-c', 'command -v curl && command -v jq && command -v bash']).status === 0

describe.skipIf(!shellTools)('the README OpenID Connect example', () => {
  it('OI-01 runs literally: adds the provider, starts the flow, trades the login code for tokens', async () => {
    await op.control({ account: person() })
    const script = (await readmeBlock('### Sign in with Google, Microsoft or your company')).replace('http://localhost:8080', base)
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      env: { PATH: process.env.PATH ?? '', ACCESS: admin.accessToken, ISSUER: op.issuer, CLIENT_ID: op.clientId, CLIENT_SECRET: op.clientSecret },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    let browsing = false
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const authorizationUrl = /^(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m.exec(out)?.[1]
      if (!authorizationUrl || browsing) return
      browsing = true
      // The browser's part: the provider signs the person in and sends them to Backplane, which sends them on to the page.
      browse(authorizationUrl, `${base}/api/v1/auth/oidc/callback`).then(land).then(({ location }) => {
        child.stdin.write(`${location!.searchParams.get('login_code')}\n`)
        child.stdin.end()
      }, (e: unknown) => { err += String(e); child.kill() })
    })
    expect(await exited, err).toBe(0)
    const lines = out.trim().split('\n')
    expect(lines[0]).toBe(`${base}/api/v1/auth/oidc/callback`)
    expect(lines[1]).toContain('"slug":"acme"')
    const accessToken = lines.at(-1)!
    expect((await t.app.inject(as({ accessToken }, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
  }, 30_000)
})
