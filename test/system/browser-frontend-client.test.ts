import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { stripTypeScriptTypes } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectFrontends } from '../../src/tooling/frontends/detect.ts'
import { writeFrontendClients } from '../../src/tooling/sdk/write-clients.ts'
import { SYSTEM_CONTEXT } from '../../src/platform/security-events.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser, type TestUser } from '../helpers/auth.ts'
import { closeBrowserTest, haveChromium, launchChromium, mustRunBrowser, openPage } from '../helpers/browser.ts'

/*
 * The whole "Connect your frontends" path in a real browser: a Vite app is detected, `sync` registers
 * it (no CORS_ORIGINS at all), `--write-clients` writes its client module and .env.local, and the page
 * served from the detected origin imports that very module, the way Vite's dev server serves it, and
 * signs in through it. The registry alone opens CORS, for that origin only, and closes it again.
 */

const openapiFetch = fileURLToPath(new URL('../../node_modules/openapi-fetch/dist/index.mjs', import.meta.url))

/** viteEnv reads the VITE_ variables of a dotenv file, as Vite exposes them to the app's code. */
function viteEnv (text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').map((line) => /^(VITE_\w+)=(.*)$/.exec(line.trim())).filter((m) => m !== null).map((m) => [m[1], m[2]]))
}

/**
 * appServer plays the Vite dev server of the app folder: an index page with an import map for
 * openapi-fetch, and each .ts module with its types stripped and `import.meta.env` filled from
 * .env.local (what Vite injects), so the page runs the generated file as written.
 */
async function appServer (appDir: () => string): Promise<{ server: Server, origin: string }> {
  const server = createServer((req, res) => {
    const serve = async (): Promise<void> => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        res.end('<!doctype html><meta charset="utf-8"><script type="importmap">{"imports":{"openapi-fetch":"/@modules/openapi-fetch.mjs"}}</script><title>app</title><script type="module" src="/main.js"></script>')
        return
      }
      if (path === '/main.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' })
        res.end(PAGE_CODE)
        return
      }
      if (path === '/@modules/openapi-fetch.mjs') {
        res.writeHead(200, { 'content-type': 'text/javascript' })
        res.end(await readFile(openapiFetch, 'utf8'))
        return
      }
      if (path.startsWith('/src/') && path.endsWith('.ts') && !path.includes('..')) {
        const env = viteEnv(await readFile(join(appDir(), '.env.local'), 'utf8'))
        const source = stripTypeScriptTypes(await readFile(join(appDir(), path), 'utf8'))
        res.writeHead(200, { 'content-type': 'text/javascript' })
        res.end(`import.meta.env = ${JSON.stringify({ ...env, MODE: 'development', DEV: true })};\n${source}`)
        return
      }
      res.writeHead(404).end()
    }
    serve().catch((err: unknown) => { res.writeHead(500).end(String(err)) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no address')
  return { server, origin: `http://127.0.0.1:${address.port}` }
}

/** SignIn is what the page's code saw when it signed in and read the user through the generated client. */
type SignIn = { ok: true, email: string, audience: string } | { ok: false, error: string }

/**
 * PAGE_CODE is the app's own code, as a team would write it: import the generated module, sign in,
 * read /users/me with the token. It is kept as text so that the test runner does not rewrite it.
 */
const PAGE_CODE = `
window.signIn = async (email, password) => {
  try {
    const { backplane, createBackplane } = await import('/src/lib/backplane.ts')
    const login = await backplane.POST('/api/v1/auth/login', { body: { email, password } })
    if (login.data === undefined) return { ok: false, error: 'login answered ' + login.response.status }
    const token = login.data.accessToken
    const me = await createBackplane(() => token).GET('/api/v1/users/me')
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')))
    return { ok: true, email: me.data?.email ?? '', audience: claims.aud }
  } catch (err) {
    return { ok: false, error: err.name + ': ' + err.message }
  }
}`

/** signInThroughClient runs the app's code in the page and returns what it saw. */
function signInThroughClient (page: Page, email: string, password: string): Promise<SignIn> {
  return page.evaluate(`window.signIn(${JSON.stringify(email)}, ${JSON.stringify(password)})`) as Promise<SignIn>
}

describe.skipIf(!haveChromium && !mustRunBrowser)('a detected Vite app calls Backplane through its generated client (Chromium)', { timeout: 120_000 }, () => {
  let browser: Browser | undefined
  let t: TestApp
  let user: TestUser
  let workspace: string
  let allowed: { server: Server, origin: string }
  let foreign: { server: Server, origin: string }
  let frontendId: string
  let frontendName: string

  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'backplane-browser-client-'))
    const app = join(workspace, 'web')
    allowed = await appServer(() => app)
    foreign = await appServer(() => app)
    await cp(fileURLToPath(new URL('../fixtures/workspaces/vite-react', import.meta.url)), app, { recursive: true })
    const config = await readFile(join(app, 'vite.config.ts'), 'utf8')
    await writeFile(join(app, 'vite.config.ts'), config.replace('plugins: [react()],', `plugins: [react()],\n  server: { host: '127.0.0.1', port: ${new URL(allowed.origin).port} },`))

    t = await createTestApp()
    user = await makeUser(t.app)
    const api = await t.app.listen({ port: 0, host: '127.0.0.1' })
    const detection = await detectFrontends(workspace)
    const [entry] = await t.app.frontends.sync(detection)
    if (entry?.apiKey === undefined || entry.id === undefined) throw new Error('the sync created no frontend')
    frontendId = entry.id
    frontendName = entry.name
    const written = await writeFrontendClients(detection.frontends, { root: workspace, baseUrl: api, keys: { [entry.name]: entry.apiKey }, document: t.app.swagger() as never })
    expect(written.written).toEqual(['web/src/lib/backplane-schema.d.ts', 'web/src/lib/backplane.ts', 'web/.env.local'])

    browser = await launchChromium()
  })

  afterAll(async () => { await closeBrowserTest({ browser, app: t, servers: [allowed, foreign], workspace }) })

  async function open (origin: string): Promise<Page> {
    const page = await openPage(browser, origin)
    await page.waitForFunction('typeof window.signIn === "function"')
    return page
  }

  it('signs in from the detected origin with the key sync wrote, and the token belongs to that frontend', async () => {
    const page = await open(allowed.origin)
    try {
      const result = await signInThroughClient(page, user.email, user.password)
      expect(result).toEqual({ ok: true, email: user.email, audience: `frontend:${frontendName}` })
    } finally {
      await page.context().close()
    }
  })

  it('is blocked by the browser from another origin, though the page runs the same module', async () => {
    const page = await open(foreign.origin)
    try {
      expect(await signInThroughClient(page, user.email, user.password)).toEqual({ ok: false, error: 'TypeError: Failed to fetch' })
    } finally {
      await page.context().close()
    }
  })

  it('is blocked from its own origin too once the frontend is disabled, without a restart', async () => {
    await t.app.frontends.update(frontendId, { enabled: false }, SYSTEM_CONTEXT)
    const page = await open(allowed.origin)
    try {
      expect(await signInThroughClient(page, user.email, user.password)).toEqual({ ok: false, error: 'TypeError: Failed to fetch' })
    } finally {
      await page.context().close()
      await t.app.frontends.update(frontendId, { enabled: true }, SYSTEM_CONTEXT)
    }
  })
})
