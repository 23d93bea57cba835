// Passkeys through a real browser: Chromium's virtual authenticator (CDP WebAuthn domain, driven by
// playwright-core) on a page served from Backplane's own origin (PUBLIC_URL, http://localhost:PORT,
// since an IP address cannot be a WebAuthn relying-party id). The test fetches the options from the
// API, the page runs navigator.credentials.create()/get() with them, and the test sends the result back.
import { createServer, type Server } from 'node:http'
import { eq } from 'drizzle-orm'
import type { Browser, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { passkeys } from '../../src/modules/auth/table.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { expectAudit } from '../helpers/audit.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { haveChromium, launchChromium } from '../helpers/browser.ts'
import { freePort } from '../helpers/process.ts'

let t: TestApp
let base: string
let browser: Browser
let foreign: Server
let foreignUrl: string

beforeAll(async () => {
  const port = await freePort()
  base = `http://localhost:${port}`
  t = await createTestApp({ env: { PUBLIC_URL: base } })
  await t.app.listen({ host: 'localhost', port })
  // Another origin with the same host name: the browser lets it use RP id "localhost", Backplane must not.
  foreign = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>') })
  const foreignPort = await freePort()
  await new Promise<void>((resolve) => foreign.listen(foreignPort, 'localhost', resolve))
  foreignUrl = `http://localhost:${foreignPort}`
  browser = await launchChromium()
}, 90_000)
afterAll(async () => {
  await browser?.close()
  foreign?.close()
  await t?.close()
})

/** authenticatorPage opens `url` in a fresh context with a virtual platform authenticator (resident keys, user verification). */
async function authenticatorPage (url: string, verified = true): Promise<{ page: Page, cdp: CDPSession, authenticatorId: string }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: verified, automaticPresenceSimulation: true }
  })
  await page.goto(url)
  return { page, cdp, authenticatorId }
}

type Json = Record<string, unknown>
// Page code is plain JavaScript run by Chromium (this project's TypeScript has no DOM types).
/** create runs navigator.credentials.create() in the page with the API's options and returns the credential as JSON. */
const create = (page: Page, options: Json) => page.evaluate(`(async (options) => {
  const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
  return cred.toJSON()
})(${JSON.stringify(options)})`) as Promise<Json>
/** get runs navigator.credentials.get() (no credential named: discoverable) and returns the assertion as JSON. */
const get = (page: Page, options: Json) => page.evaluate(`(async (options) => {
  const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) })
  return cred.toJSON()
})(${JSON.stringify(options)})`) as Promise<Json>

async function register (page: Page, user: TestUser, name: string) {
  const options = (await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/passkeys/options' }))).json()
  expect(options.rp.id).toBe('localhost')
  expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' })
  return t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/passkeys', payload: { name, response: await create(page, options) } }))
}
const signInOptions = async () => (await t.app.inject({ method: 'POST', url: '/api/v1/auth/passkeys/options' })).json()
const signIn = (response: Json, requestId?: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/passkeys/verify', payload: { response }, ...(requestId ? { headers: { 'x-request-id': requestId } } : {}) })

describe.skipIf(!haveChromium && !process.env.CI)('passkeys in Chromium', () => {
  it('PK-01 registers several passkeys, signs in with a discoverable one, names, lists and removes them', async () => {
    const user = await makeUser(t.app)
    const first = await authenticatorPage(`${base}/health/live`)
    const one = await register(first.page, user, 'laptop')
    expect(one.statusCode, one.body).toBe(201)
    expect(one.json()).toMatchObject({ name: 'laptop' })
    await expectAudit(t, { action: 'passkey.added', outcome: 'success', actorId: user.id })

    // A second authenticator (a phone) on the same page.
    await first.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: first.authenticatorId })
    await first.cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } })
    expect((await register(first.page, user, 'phone')).statusCode).toBe(201)
    const listed = (await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me/passkeys' }))).json().items
    expect(listed.map((p: { name: string }) => p.name)).toEqual(['laptop', 'phone'])

    const signedIn = await signIn(await get(first.page, await signInOptions()))
    expect(signedIn.statusCode, signedIn.body).toBe(200)
    const session = signedIn.json()
    expect((await t.app.inject(as(session, { method: 'GET', url: '/api/v1/users/me' }))).json().id).toBe(user.id)
    await expectAudit(t, { action: 'auth.login', outcome: 'success', actorId: user.id, targetId: session.sessionId })

    const renamed = await t.app.inject(as(user, { method: 'PATCH', url: `/api/v1/users/me/passkeys/${listed[0].id}`, payload: { name: 'old laptop' } }))
    expect(renamed.json().name).toBe('old laptop')
    expect((await t.app.inject(as(user, { method: 'DELETE', url: `/api/v1/users/me/passkeys/${listed[0].id}` }))).statusCode).toBe(204)
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me/passkeys' }))).json().items).toHaveLength(1)
    // Another user cannot see or remove it.
    const other = await makeUser(t.app)
    expect((await t.app.inject(as(other, { method: 'DELETE', url: `/api/v1/users/me/passkeys/${listed[1].id}` }))).statusCode).toBe(404)
    await first.page.context().close()
  }, 60_000)

  it('PK-02 refuses an assertion made on another origin, and audits it', async () => {
    const user = await makeUser(t.app)
    const home = await authenticatorPage(`${base}/health/live`)
    expect((await register(home.page, user, 'key')).statusCode).toBe(201)
    // The same authenticator's credential, used by a page of another origin.
    const { credentials } = await home.cdp.send('WebAuthn.getCredentials', { authenticatorId: home.authenticatorId })
    const away = await authenticatorPage(foreignUrl)
    await away.cdp.send('WebAuthn.addCredential', { authenticatorId: away.authenticatorId, credential: credentials[0]! })
    const requestId = `passkey-origin-${Date.now()}`
    const refused = await signIn(await get(away.page, await signInOptions()), requestId)
    expect(refused.statusCode).toBe(401)
    expect(refused.json().code).toBe('PASSKEY_INVALID')
    const row = await expectAudit(t, { action: 'auth.passkey_failed', outcome: 'failure', requestId })
    expect(JSON.stringify(row.details)).toMatch(/origin/i)
    await home.page.context().close()
    await away.page.context().close()
  }, 60_000)

  it('PK-03 refuses a replayed assertion and a signature counter that did not move forward', async () => {
    const user = await makeUser(t.app)
    const { page } = await authenticatorPage(`${base}/health/live`)
    expect((await register(page, user, 'key')).statusCode).toBe(201)
    const assertion = await get(page, await signInOptions())
    expect((await signIn(assertion)).statusCode).toBe(200)
    expect((await signIn(assertion)).statusCode).toBe(401)
    // A cloned authenticator: the server has seen a higher counter than this one will send.
    await t.app.db.update(passkeys).set({ counter: 1_000_000 }).where(eq(passkeys.userId, user.id))
    const requestId = `passkey-counter-${Date.now()}`
    const cloned = await signIn(await get(page, await signInOptions()), requestId)
    expect(cloned.statusCode).toBe(401)
    const row = await expectAudit(t, { action: 'auth.passkey_failed', outcome: 'failure', requestId })
    expect(JSON.stringify(row.details)).toMatch(/counter/i)
    await page.context().close()
  }, 60_000)

  it('PK-04 refuses a passkey registered without user verification', async () => {
    const user = await makeUser(t.app)
    const { page } = await authenticatorPage(`${base}/health/live`, false)
    const options = (await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/passkeys/options' }))).json()
    // The browser itself refuses when it cannot verify the user; with a lenient option set it would be the server.
    const attempt = await create(page, { ...options, authenticatorSelection: { ...options.authenticatorSelection, userVerification: 'discouraged' } }).catch((err: unknown) => String(err))
    if (typeof attempt === 'string') expect(attempt).toMatch(/NotAllowed|not allowed/i)
    else expect((await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/passkeys', payload: { name: 'no-uv', response: attempt } }))).json().code).toBe('PASSKEY_INVALID')
    await page.context().close()
  }, 60_000)
})
