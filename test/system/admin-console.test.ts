// The admin console (#16) end to end: Debian's Chromium driven by playwright-core against a real
// `backplane start` with seeded data and a real agent (examples/agent.ts). Every page is checked
// with axe-core (0 serious/critical) and under the console's CSP (0 violations); screenshots of
// the overview and of a live execution go to docs/images/ for the README.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strongPassword, uniqueEmail } from '../helpers/auth.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { totpCode } from '../helpers/mfa.ts'
import { projectRoot, spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'
import { CHROMIUM_ARGS, chromiumPath, haveChromium, mustRunBrowser } from '../helpers/browser.ts'
import { CONSOLE_CSP, axeViolations, buildConsole, consoleOrigin, createAdmin, seedDeadLetter, watchCsp } from './admin-console-serve.ts'

const SECRET = 'admin-console-e2e-secret-0123456789abcdef'
const images = new URL('../../docs/images/', import.meta.url)

let db: TestDatabase
let bp: BackplaneProcess
let web: Awaited<ReturnType<typeof consoleOrigin>>
let browser: Browser
let page: Page
let cspSeen: () => Promise<string[]>
let agent: ChildProcess
const admin = { email: 'root@console.test', password: strongPassword() }
const member = { email: uniqueEmail('member'), password: strongPassword() }
const second = { email: uniqueEmail('second-admin'), password: strongPassword() }
let recoveryCode = ''
let secondId = ''
let adminToken = ''
let webhookId = ''
let receiver: Server
const received: string[] = []
let memberToken = ''
let taskId = ''

async function call<T> (method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number, json: T }> {
  const res = await fetch(`${bp.url}/api/v1${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, json: (res.status === 204 ? {} : await res.json()) as T }
}

async function signIn (who: { email: string, password: string }, path = '/admin/'): Promise<void> {
  await page.goto(`${web.origin}${path}`)
  await page.getByLabel('Email').fill(who.email)
  await page.getByLabel('Password').fill(who.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** checkPage asserts axe finds nothing serious or critical, and no CSP violation happened. */
async function checkPage (name: string): Promise<void> {
  expect(await axeViolations(page), `axe on ${name}`).toEqual([])
  expect(await cspSeen(), `CSP on ${name}`).toEqual([])
}

const run = haveChromium || mustRunBrowser ? describe : describe.skip

run('admin console in Chromium (#16)', () => {
  beforeAll(async () => {
    await buildConsole()
    db = await createTestDatabase()
    await createAdmin(db.url, admin, SECRET)
    // A webhook receiver on loopback (WEBHOOKS_ALLOW_PRIVATE) that records each delivery's webhook-id.
    receiver = createServer((req, res) => { received.push(String(req.headers['webhook-id'])); req.resume(); res.end('ok') })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const receiverPort = (receiver.address() as { port: number }).port
    bp = await spawnBackplane({ DATABASE_URL: db.url, BACKPLANE_SECRET: SECRET, RATE_LIMIT_AUTH_PER_MINUTE: '1000', SCHEDULER_INTERVAL_MS: '200', WEBHOOKS_ALLOW_PRIVATE: 'true' }, ['src/main.ts', 'start'], 60_000)
    web = await consoleOrigin(bp.url)
    // Seed: a member with a live session, a project with a task, and an agent that runs it.
    await call('POST', '/auth/register', null, member)
    memberToken = (await call<{ accessToken: string }>('POST', '/auth/login', null, member)).json.accessToken
    adminToken = (await call<{ accessToken: string }>('POST', '/auth/login', null, admin)).json.accessToken
    const project = (await call<{ id: string }>('POST', '/projects', adminToken, { name: 'Console demo', description: 'Seeded by the e2e test' })).json
    webhookId = (await call<{ id: string }>('POST', `/projects/${project.id}/webhooks`, adminToken, { url: `http://127.0.0.1:${receiverPort}/hook`, eventTypes: ['execution.completed'] })).json.id
    expect((await call('POST', '/admin/frontends', adminToken, { name: 'storefront', origins: ['https://shop.example.test'] })).status).toBe(201)
    taskId = (await call<{ id: string }>('POST', `/projects/${project.id}/tasks`, adminToken, { name: 'nightly-report', schedule: '30 2 * * 1-5', payload: { sleepMs: 4000, echo: 'report ready' } })).json.id
    // A second account with TOTP on (made an admin after the last-admin test): the console must ask for the second factor.
    await call('POST', '/auth/register', null, second)
    const secondToken = (await call<{ accessToken: string }>('POST', '/auth/login', null, second)).json.accessToken
    secondId = (await call<{ id: string }>('GET', '/users/me', secondToken)).json.id
    const { secret } = (await call<{ secret: string }>('POST', '/users/me/mfa/totp', secondToken)).json
    recoveryCode = (await call<{ recoveryCodes: string[] }>('POST', '/users/me/mfa/totp/confirm', secondToken, { code: totpCode(secret) })).json.recoveryCodes[0] ?? ''
    await seedDeadLetter(db.url, 'webhooks.deliver', { deliveryId: '00000000-0000-4000-8000-000000000000' }, 'receiver answered 500 ten times')
    const agentKey = (await call<{ apiKey: string }>('POST', '/agents', adminToken, { name: 'worker-1', projectId: project.id, labels: ['linux'] })).json.apiKey
    agent = spawn(process.execPath, ['examples/agent.ts'], { cwd: projectRoot, env: { PATH: process.env.PATH ?? '', BACKPLANE_URL: bp.url, BACKPLANE_AGENT_KEY: agentKey }, stdio: 'ignore' })
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS })
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
    page.setDefaultTimeout(10_000)
    cspSeen = await watchCsp(page)
  }, 180_000)

  afterAll(async () => {
    agent?.kill('SIGTERM')
    await browser?.close()
    await web?.close()
    receiver?.close()
    bp?.child.kill('SIGTERM')
    await bp?.exited
    await db?.drop()
  }, 60_000)

  it('serves the console under a CSP with no inline script or style and no outside origin', async () => {
    const res = await fetch(`${web.origin}/admin/`)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    if (!web.servedByBackplane) expect(csp).toBe(CONSOLE_CSP)
    console.log(`console served by ${web.servedByBackplane ? 'Backplane at /admin' : 'Vite preview of dashboard/dist (Backplane does not serve /admin in this branch)'}`)
  })

  it('tells a non-admin they lack access, and shows them no admin data', async () => {
    const adminCalls: number[] = []
    page.on('response', (r) => { if (r.url().includes('/api/v1/admin/')) adminCalls.push(r.status()) })
    await signIn(member)
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('is not an administrator')
    expect(adminCalls.filter((s) => s === 200)).toEqual([])
    await checkPage('no access')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('Email').waitFor()
  })

  it('signs an admin in, keeps no token in web storage, and shows the overview', async () => {
    await signIn(admin)
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    await page.getByRole('row', { name: /database/i }).first().waitFor()
    await page.getByText('Queue depth per job').waitFor()
    const storage = await page.evaluate('({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })')
    expect(storage).toEqual({ local: 0, session: 0, cookie: '' })
    await checkPage('overview')
  })

  it('finds the member, disables them, and their session is refused', async () => {
    await page.getByRole('link', { name: 'Users' }).click()
    await page.getByLabel('Search').fill(member.email)
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(member.email)
    await page.getByRole('link', { name: member.email }).click()
    await page.getByRole('heading', { name: member.email }).waitFor()
    await checkPage('user')
    await page.getByRole('button', { name: 'Disable' }).click()
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Confirm disable')
    await page.keyboard.press('Enter')
    await page.getByText('disabled', { exact: true }).first().waitFor()
    expect((await call('GET', '/users/me', memberToken)).status).toBe(401)
  })

  it('refuses to take the admin role from the last admin and shows the API\'s problem detail', async () => {
    await page.getByRole('link', { name: 'Users' }).click()
    await page.getByLabel('Search').fill(admin.email)
    await page.getByRole('link', { name: admin.email }).click()
    await page.getByLabel('Roles (comma-separated)').fill('user')
    await page.getByRole('button', { name: 'Save roles' }).click()
    await page.getByRole('button', { name: 'Confirm save roles' }).click()
    const alert = page.getByRole('alertdialog').getByRole('alert')
    await alert.waitFor()
    expect(await alert.textContent()).toMatch(/admin/i)
    await page.getByRole('button', { name: 'Cancel' }).click()
  })

  it('asks an admin with TOTP for the second factor, all from the keyboard', async () => {
    expect((await call('PATCH', `/admin/users/${secondId}`, adminToken, { roles: ['user', 'admin'] })).status).toBe(200)
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await page.getByLabel('Email').waitFor()
    await page.keyboard.press('Tab')
    await page.keyboard.type(second.email)
    await page.keyboard.press('Tab')
    await page.keyboard.type(second.password)
    await page.keyboard.press('Enter')
    await page.getByLabel(/Authentication code/).waitFor()
    await checkPage('second factor')
    await page.keyboard.type(recoveryCode)
    await page.keyboard.press('Enter')
    // Signed in where the console was (the user page of root@): sign-in keeps the URL.
    await page.getByRole('banner').getByText(second.email).waitFor()
    await page.getByRole('heading', { name: admin.email }).waitFor()
    // Keyboard only: the skip link first, then the navigation.
    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content')
    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Overview')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor()
  })

  it('invites someone and creates an account from the users page\'s form', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Users' }).click()
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor()
    const invited = uniqueEmail('invited')
    await page.getByLabel('Email', { exact: true }).fill(invited)
    await page.getByRole('button', { name: 'Send invitation' }).click()
    await page.getByRole('status').filter({ hasText: `Invitation sent to ${invited}.` }).waitFor()
    const created = uniqueEmail('created')
    await page.getByLabel('Email', { exact: true }).fill(created)
    await page.getByLabel('Name', { exact: true }).fill('Made In The Console')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('status').filter({ hasText: `Created ${created}` }).waitFor()
    await page.getByRole('link', { name: created }).waitFor()
    const listed = await call<{ items: Array<{ email: string, name: string, status: string }> }>('GET', `/admin/users?q=${encodeURIComponent(created)}`, adminToken)
    expect(listed.json.items).toEqual([expect.objectContaining({ email: created, name: 'Made In The Console', status: 'active' })])
    await checkPage('users with forms')
  })

  it('ends one session of a user from the keyboard, after confirmation: that token is refused, the other still works', async () => {
    const someone = { email: uniqueEmail('two-sessions'), password: strongPassword() }
    expect((await call('POST', '/auth/register', null, someone)).status).toBe(202)
    const tokens = await Promise.all([1, 2].map(async () => (await call<{ accessToken: string }>('POST', '/auth/login', null, someone)).json.accessToken))
    const statuses = async () => Promise.all(tokens.map(async (t) => (await call('GET', '/users/me', t)).status))
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Users' }).click()
    await page.getByLabel('Search').fill(someone.email)
    await page.getByRole('link', { name: someone.email }).click()
    await page.getByRole('heading', { name: someone.email }).waitFor()
    const revoke = page.getByRole('button', { name: 'Revoke', exact: true })
    await expect.poll(() => revoke.count()).toBe(2)
    await checkPage('user sessions')
    // Keyboard only: Enter on "Revoke" asks first (focus on the confirmation); nothing has ended yet.
    await revoke.first().focus()
    await page.keyboard.press('Enter')
    await page.getByRole('alertdialog').getByText('End this session now?').waitFor()
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Confirm revoke')
    expect(await statuses()).toEqual([200, 200])
    await page.keyboard.press('Enter')
    await expect.poll(() => revoke.count()).toBe(1)
    expect((await statuses()).sort()).toEqual([200, 401])
  })

  it('runs a task and watches its execution complete live through the agent', async () => {
    await page.goto(`${web.origin}/admin/tasks/${taskId}`)
    await signIn(admin, `/admin/tasks/${taskId}`)
    await page.getByRole('heading', { name: 'nightly-report' }).waitFor()
    expect(await page.getByText(/at 02:30 on Monday to Friday/).count()).toBe(1)
    await checkPage('task')
    await page.getByRole('button', { name: 'Run now' }).click()
    await page.getByRole('button', { name: 'Confirm run now' }).click()
    await page.waitForURL(/\/admin\/executions\/[0-9a-f-]{36}$/)
    await page.getByText('live: open').waitFor({ timeout: 15_000 })
    await page.getByText(/execution\.progress/).first().waitFor({ timeout: 20_000 })
    await mkdir(images, { recursive: true })
    await page.screenshot({ path: new URL('admin-execution-live.png', images).pathname, fullPage: true })
    await page.getByRole('status', { name: 'Status: succeeded' }).waitFor({ timeout: 30_000 })
    expect(await page.getByLabel('Result JSON').textContent()).toContain('report ready')
    await checkPage('execution')
  })

  it('filters the audit log and exports it as CSV', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click()
    await page.getByLabel('Action').fill('auth.*')
    await expect.poll(() => new URL(page.url()).searchParams.get('action')).toBe('auth.*')
    await page.getByRole('cell', { name: /^auth\./ }).first().waitFor()
    await checkPage('audit')
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
    const csv = await readFile(await download.path(), 'utf8')
    const lines = csv.trim().split('\r\n')
    expect(lines[0]).toBe('createdAt,action,outcome,actorType,actorId,targetType,targetId,ip,userAgent,requestId,details')
    expect(lines.length).toBeGreaterThan(2)
    expect(lines.slice(1).every((l) => /^[^,]+,auth\./.test(l))).toBe(true)
  })

  it('inspects a dead letter and sends it back to its queue', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Queue' }).click()
    await page.getByRole('button', { name: /1 — inspect/ }).click()
    await expect.poll(() => new URL(page.url()).searchParams.get('name')).toBe('webhooks.deliver')
    await page.getByText('receiver answered 500 ten times').waitFor()
    await checkPage('dead letters')
    await page.getByRole('button', { name: 'Retry', exact: true }).click()
    await page.getByRole('button', { name: 'Confirm retry' }).click()
    await page.getByText('None left.').waitFor()
  })

  it('shows the webhook deliveries of the run and redelivers one', async () => {
    await page.goto(`${web.origin}/admin/webhooks/${webhookId}`)
    await signIn(admin, `/admin/webhooks/${webhookId}`)
    await page.getByRole('cell', { name: 'execution.completed' }).waitFor()
    await expect.poll(() => received.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1)
    await checkPage('webhook')
    const before = received.length
    await page.getByRole('button', { name: 'Redeliver' }).first().click()
    await page.getByRole('button', { name: 'Confirm redeliver' }).click()
    await expect.poll(() => received.length, { timeout: 15_000 }).toBe(before + 1)
    expect(received.slice(0, -1)).toContain(received.at(-1))
  })

  it('rotates a frontend\'s key and shows the new one once', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Frontends' }).click()
    await page.getByRole('row', { name: /storefront/ }).getByRole('button', { name: 'Rotate key' }).click()
    await page.getByRole('button', { name: 'Confirm rotate key' }).click()
    expect(await page.getByRole('status').filter({ hasText: 'New key of storefront' }).textContent()).toMatch(/shown once\): \S{20,}/)
    await checkPage('frontends')
  })

  it('renders every other page with its data, accessibly and within the CSP', async () => {
    for (const [link, heading, data] of [
      ['Projects', 'Projects', 'Console demo'], ['Executions', 'Executions', 'nightly-report'], ['Agents', 'Agents', 'worker-1'],
      ['Queue', 'Queue and dead letters', 'Adapter'], ['Frontends', 'Frontends', 'storefront'], ['Settings', 'Settings', 'Read-only']
    ] as const) {
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: link }).click()
      await page.getByRole('heading', { name: heading, exact: true }).waitFor()
      await page.getByText(data).first().waitFor()
      await checkPage(link)
    }
    // The overview once there is activity: the README's screenshot.
    await page.getByRole('link', { name: 'Overview' }).click()
    await page.getByRole('img', { name: /Executions in the last 24 h.*succeeded \d/ }).waitFor()
    await page.screenshot({ path: new URL('admin-overview.png', images).pathname, fullPage: true })
  })
})
