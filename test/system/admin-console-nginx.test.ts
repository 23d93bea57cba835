// The admin console (#16) as production runs it: Backplane with BACKPLANE_ENV=production behind a
// real nginx rendered from deploy/nginx/backplane.conf.template, TRUST_PROXY naming nginx's address
// only, CORS open to listed and registered origins only, closed registration, short access tokens.
// Chromium opens the console through nginx: CSP, sign-in, overview, users, the create form, the
// refresh flow, and the client address read from nginx's X-Forwarded-For (and only from nginx).
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strongPassword, uniqueEmail } from '../helpers/auth.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { nginxBinary, startNginx, type PrivateNginx } from '../helpers/nginx.ts'
import { freePort, spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'
import { requireServices } from '../helpers/services.ts'
import { axeViolations, buildConsole, createAdmin, watchCsp } from './admin-console-serve.ts'

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const mustRun = requireServices || process.env.BACKPLANE_REQUIRE_BROWSER === '1' || (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')
if (mustRun && !nginxBinary) throw new Error('the console-behind-nginx test needs nginx (apt-get install -y nginx; .ci/run does it)')
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SECRET = 'admin-console-nginx-production-secret-0123456789'
// nginx connects to Backplane from this address (proxy_bind): the only one TRUST_PROXY names, and
// not the browser's (127.0.0.1), so the address Backplane records tells which one it believed.
const NGINX_UPSTREAM_ADDRESS = '127.0.0.2'
const LISTED_ORIGIN = 'https://ops.example.test'

let db: TestDatabase
let bp: BackplaneProcess
let nginx: PrivateNginx
let work: string
let browser: Browser
let page: Page
let cspSeen: () => Promise<string[]>
const setCookies: string[] = []
const admin = { email: 'root@console-nginx.test', password: strongPassword() }

const run = (existsSync(chromiumPath) && nginxBinary !== undefined) || mustRun ? describe : describe.skip

run('admin console behind nginx with production settings (#16)', () => {
  beforeAll(async () => {
    await buildConsole()
    db = await createTestDatabase()
    await createAdmin(db.url, admin, SECRET)
    const port = await freePort()
    bp = await spawnBackplane({
      BACKPLANE_ENV: 'production',
      BACKPLANE_SECRET: SECRET,
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      TRUST_PROXY: NGINX_UPSTREAM_ADDRESS,
      CORS_ORIGINS: LISTED_ORIGIN,
      AUTH_REGISTRATION: 'closed',
      AUTH_ACCESS_TTL_SECONDS: '60',
      SHUTDOWN_DELAY_MS: '0'
    }, ['src/main.ts', 'start'], 90_000)
    work = await mkdtemp(join(tmpdir(), 'bp-console-nginx-'))
    nginx = await startNginx(join(work, 'nginx'), await freePort(), [port], `proxy_bind ${NGINX_UPSTREAM_ADDRESS};`)
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS })
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
    page.setDefaultTimeout(15_000)
    page.on('response', (r) => { const c = r.headers()['set-cookie']; if (c !== undefined) setCookies.push(`${r.url()}: ${c}`) })
    cspSeen = await watchCsp(page)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await nginx?.stop()
    bp?.child.kill('SIGTERM')
    await bp?.exited
    await db?.drop()
    if (work !== undefined) await rm(work, { recursive: true, force: true })
  }, 60_000)

  it('serves /admin/ through nginx with the console\'s CSP, and production CORS refuses an unlisted origin', async () => {
    const res = await fetch(`${nginx.url}/admin/`)
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(res.headers.get('server')).toBe('nginx') // server_tokens off: no version
    const preflight = (origin: string) => fetch(`${nginx.url}/api/v1/users/me`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' }
    })
    expect((await preflight('https://evil.example.test')).headers.get('access-control-allow-origin')).toBeNull()
    expect((await preflight(LISTED_ORIGIN)).headers.get('access-control-allow-origin')).toBe(LISTED_ORIGIN)
  })

  it('signs in through nginx and shows the overview and the users page, accessibly and within the CSP', async () => {
    await page.goto(`${nginx.url}/admin/`)
    await page.getByLabel('Email').fill(admin.email)
    await page.getByLabel('Password').fill(admin.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    await page.getByRole('row', { name: /database/i }).first().waitFor()
    await page.getByRole('heading', { name: 'Nodes (1)' }).waitFor()
    expect(await axeViolations(page)).toEqual([])
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Users' }).click()
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor()
    await page.getByRole('link', { name: admin.email }).waitFor()
    expect(await axeViolations(page)).toEqual([])
    expect(await cspSeen()).toEqual([])
  })

  it('creates an account from the form (closed registration) and shows the API\'s refusal of an invitation', async () => {
    const someone = uniqueEmail('created')
    await page.getByLabel('Email', { exact: true }).fill(someone)
    await page.getByLabel('Name', { exact: true }).fill('Created Behind Nginx')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('status').filter({ hasText: `Created ${someone}` }).waitFor()
    await page.getByRole('link', { name: someone }).waitFor()
    // Invitations are off when registration is closed: the console shows the API's problem detail.
    await page.getByLabel('Email', { exact: true }).fill(uniqueEmail('invited'))
    await page.getByRole('button', { name: 'Send invitation' }).click()
    expect(await page.getByRole('alert').filter({ hasText: /invitation/i }).textContent()).toMatch(/invitation/i)
  })

  it('records the browser\'s address from nginx\'s X-Forwarded-For, never a forged one', async () => {
    await page.getByRole('link', { name: admin.email }).click()
    await page.getByRole('heading', { name: admin.email }).waitFor()
    // The TCP peer is nginx (127.0.0.2); the session was opened by the browser at 127.0.0.1.
    await page.getByRole('cell', { name: /^127\.0\.0\.1\b/ }).first().waitFor()
    expect(await page.getByRole('cell', { name: /127\.0\.0\.2/ }).count()).toBe(0)
    // A client that forges X-Forwarded-For through nginx is still recorded at its own address.
    const forged = await fetch(`${nginx.url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.66' }, body: JSON.stringify(admin)
    })
    expect(forged.status).toBe(200)
    await page.reload()
    await page.getByLabel('Email').fill(admin.email)
    await page.getByLabel('Password').fill(admin.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: admin.email }).waitFor()
    await page.getByRole('cell', { name: /^127\.0\.0\.1\b/ }).first().waitFor()
    expect(await page.getByRole('cell', { name: /203\.0\.113\.66/ }).count()).toBe(0)
  })

  it('refreshes the 60 s access token through nginx and keeps working, with no cookie and no stored token', async () => {
    await page.getByRole('link', { name: 'Overview' }).click()
    // The token store refreshes within 30 s of expiry; the overview polls every 10 s.
    const refreshed = await page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh') && r.request().method() === 'POST', { timeout: 90_000 })
    expect(refreshed.status()).toBe(200)
    const after = await page.waitForResponse((r) => r.url().includes('/api/v1/admin/') && r.request().headers().authorization !== undefined, { timeout: 30_000 })
    expect(after.status()).toBe(200)
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    expect(await page.evaluate('({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })')).toEqual({ local: 0, session: 0, cookie: '' })
    expect(setCookies).toEqual([])
    expect(await cspSeen()).toEqual([])
  }, 150_000)
})
