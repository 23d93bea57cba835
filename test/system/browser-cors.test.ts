import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectFrontends } from '../../src/tooling/frontends/detect.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser, type TestUser } from '../helpers/auth.ts'
import { closeBrowserTest, haveChromium, launchChromium, mustRunBrowser, openPage } from '../helpers/browser.ts'

/** page serves a blank HTML page: an origin for the browser to run fetch() from. */
async function pageServer (): Promise<{ server: Server, origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><meta charset="utf-8"><title>frontend</title><p>frontend</p>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no address')
  return { server, origin: `http://127.0.0.1:${address.port}` }
}

/** CallResult is what a page's script could see of one cross-origin call. */
type CallResult = { ok: true, status: number, body: Record<string, unknown>, requestId: string | null } | { ok: false, error: string }

/** signInAndReadMe runs in the page: login with credentials, then GET /users/me with the bearer. */
async function signInAndReadMe (page: Page, api: string, email: string, password: string): Promise<{ login: CallResult, me: CallResult | null }> {
  return page.evaluate(async ({ api, email, password }) => {
    const call = async (path: string, init: RequestInit): Promise<CallResult> => {
      try {
        const res = await fetch(api + path, { ...init, credentials: 'include', signal: AbortSignal.timeout(10_000) })
        return { ok: true, status: res.status, body: await res.json() as Record<string, unknown>, requestId: res.headers.get('x-request-id') }
      } catch (err) {
        return { ok: false, error: `${(err as Error).name}: ${(err as Error).message}` }
      }
    }
    const login = await call('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
    if (!login.ok || typeof login.body.accessToken !== 'string') return { login, me: null }
    const me = await call('/api/v1/users/me', { headers: { authorization: `Bearer ${login.body.accessToken}` } })
    return { login, me }
  }, { api, email, password })
}

describe.skipIf(!haveChromium && !mustRunBrowser)('CORS in a real browser (Chromium)', { timeout: 90_000 }, () => {
  let browser: Browser | undefined
  let t: TestApp
  let api: string
  let user: TestUser
  let allowed: { server: Server, origin: string }
  let foreign: { server: Server, origin: string }
  let workspace: string
  let detectedOrigins: string[]

  beforeAll(async () => {
    allowed = await pageServer()
    foreign = await pageServer()
    // The allowed origin is the one Backplane detects from a frontend's own config: a Vite app on that port.
    workspace = await mkdtemp(join(tmpdir(), 'backplane-browser-cors-'))
    const app = join(workspace, 'web')
    await cp(fileURLToPath(new URL('../fixtures/workspaces/vite-react', import.meta.url)), app, { recursive: true })
    const config = await readFile(join(app, 'vite.config.ts'), 'utf8')
    await writeFile(join(app, 'vite.config.ts'), config.replace('plugins: [react()],', `plugins: [react()],\n  server: { host: '127.0.0.1', port: ${new URL(allowed.origin).port} },`))
    detectedOrigins = (await detectFrontends(workspace)).frontends.flatMap((f) => f.origins)

    t = await createTestApp({ env: { CORS_ORIGINS: detectedOrigins.join(',') } })
    user = await makeUser(t.app)
    api = await t.app.listen({ port: 0, host: '127.0.0.1' })
    browser = await launchChromium()
  })

  afterAll(async () => { await closeBrowserTest({ browser, app: t, servers: [allowed, foreign], workspace }) })

  const open = (origin: string): Promise<Page> => openPage(browser, origin)

  it('lets the detected frontend\'s origin call the API with credentials, and read the reply', async () => {
    expect(detectedOrigins).toEqual([allowed.origin])
    const page = await open(allowed.origin)
    try {
      expect(await page.evaluate('location.origin')).toBe(allowed.origin)
      const { login, me } = await signInAndReadMe(page, api, user.email, user.password)
      expect(login).toMatchObject({ ok: true, status: 200 })
      expect(me).toMatchObject({ ok: true, status: 200, body: { id: user.id, email: user.email } })
      // Exposed headers are readable cross-origin too.
      expect(me?.ok === true && me.requestId).toMatch(/\S/)
    } finally {
      await page.context().close()
    }
  })

  it('blocks another origin: the browser refuses the calls and the page reads nothing', async () => {
    const page = await open(foreign.origin)
    try {
      const { login, me } = await signInAndReadMe(page, api, user.email, user.password)
      expect(login).toEqual({ ok: false, error: 'TypeError: Failed to fetch' })
      expect(me).toBeNull()
      const seen = await page.evaluate(async ({ api, token }) => {
        const attempt = async (init: RequestInit) => {
          try {
            const res = await fetch(`${api}/api/v1/users/me`, { ...init, signal: AbortSignal.timeout(10_000) })
            return { type: res.type, status: res.status, body: await res.text() }
          } catch (err) {
            return { error: `${(err as Error).name}: ${(err as Error).message}` }
          }
        }
        return {
          // A simple GET needs no preflight: the server answers, but without CORS headers the browser hides the reply.
          simple: await attempt({ credentials: 'include' }),
          withToken: await attempt({ credentials: 'include', headers: { authorization: `Bearer ${token}` } }),
          opaque: await attempt({ mode: 'no-cors', credentials: 'include' })
        }
      }, { api, token: user.accessToken })
      expect(seen.simple).toEqual({ error: 'TypeError: Failed to fetch' })
      expect(seen.withToken).toEqual({ error: 'TypeError: Failed to fetch' })
      // no-cors gets at most an opaque, empty response; Chromium's opaque-response blocking drops a JSON reply entirely.
      expect([{ type: 'opaque', status: 0, body: '' }, { error: 'TypeError: Failed to fetch' }]).toContainEqual(seen.opaque)
    } finally {
      await page.context().close()
    }
  })

  it('answers the foreign origin\'s preflight without any CORS header, and the allowed one\'s with them', async () => {
    const preflight = (origin: string) => fetch(`${api}/api/v1/auth/login`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      signal: AbortSignal.timeout(10_000)
    })
    const good = await preflight(allowed.origin)
    expect(good.headers.get('access-control-allow-origin')).toBe(allowed.origin)
    expect(good.headers.get('access-control-allow-credentials')).toBe('true')
    const bad = await preflight(foreign.origin)
    expect(bad.headers.get('access-control-allow-origin')).toBeNull()
    expect(bad.headers.get('access-control-allow-credentials')).toBeNull()
  })
})
