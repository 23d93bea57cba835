import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { freePort, projectRoot } from '../helpers/process.ts'
import { adminQuery } from '../helpers/services.ts'
import { QUEUE_SCHEMA } from '../../src/platform/adapters/pg-boss-queue.ts'

/** CONSOLE_CSP is the policy the console's pages run under (what Backplane sends with /admin). */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

export const dist = fileURLToPath(new URL('../../dashboard/dist', import.meta.url))

/** createAdmin runs `backplane create-admin` against a database, the password on stdin. */
export function createAdmin (databaseUrl: string, who: { email: string, password: string }, secret: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['src/main.ts', 'create-admin', '--email', who.email, '--name', 'Root', '--password-stdin'], {
      cwd: projectRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', BACKPLANE_SECRET: secret, DATABASE_URL: databaseUrl }, timeout: 60_000
    }, (err, _out, stderr) => { if (err) reject(new Error(stderr)); else resolve() })
    child.stdin?.end(who.password)
  })
}

/** buildConsole builds dashboard/dist when it is missing (npm ci builds it through prepare). */
export async function buildConsole (): Promise<void> {
  if (existsSync(`${dist}/index.html`)) return
  await new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', '--silent', 'dashboard:build'], { cwd: projectRoot, timeout: 120_000 }, (err, _out, stderr) => { if (err) reject(new Error(stderr)); else resolve() })
  })
}

/**
 * consoleOrigin is where the browser opens the console: Backplane itself when it serves /admin
 * (dashapi's branch of #16), else Vite's preview server for dashboard/dist that proxies /api
 * (HTTP and WebSocket) to Backplane and sends the same CSP, so the page runs same-origin under it.
 */
export async function consoleOrigin (backplaneUrl: string): Promise<{ origin: string, servedByBackplane: boolean, close: () => Promise<void> }> {
  const own = await fetch(`${backplaneUrl}/admin/`).then(async (r) => r.ok && (await r.text()).includes('<div id="root">'), () => false)
  if (own) return { origin: backplaneUrl, servedByBackplane: true, close: async () => {} }
  const { preview } = await import('vite')
  const port = await freePort()
  const server = await preview({
    configFile: fileURLToPath(new URL('../../dashboard/vite.config.ts', import.meta.url)),
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port, strictPort: true, open: false, headers: { 'Content-Security-Policy': CONSOLE_CSP }, proxy: { '/api': { target: backplaneUrl, ws: true } } }
  })
  return { origin: `http://127.0.0.1:${port}`, servedByBackplane: false, close: () => server.close() }
}

const axeSource = readFileSync(fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url)), 'utf8')

/** axeViolations runs axe-core (WCAG 2 A/AA) in the page and returns the serious and critical violations. */
export async function axeViolations (page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') does not apply to it.
  await page.evaluate(axeSource)
  // In-page code as a string: this file is compiled without the DOM library.
  const found = await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 3) })))`) as Array<{ id: string, impact: string | null, targets: string[] }>
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id} at ${v.targets.join(' ')}`)
}

/** cspViolations collects the page's securitypolicyviolation events (installed before any page script). */
export async function watchCsp (page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(`globalThis.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => { globalThis.__csp.push(e.violatedDirective + ' ' + e.blockedURI) })`)
  return async () => await page.evaluate('globalThis.__csp ?? []') as string[]
}

/**
 * seedDeadLetter puts one job in a job name's dead-letter queue (`<name>.dead`, where pg-boss
 * moves a job after its last attempt), with the error its last attempt reported.
 */
export async function seedDeadLetter (databaseUrl: string, name: string, data: object, error: string): Promise<void> {
  const { PgBoss } = await import('pg-boss')
  const boss = new PgBoss({ connectionString: databaseUrl, schema: QUEUE_SCHEMA, schedule: false, supervise: false, migrate: false, max: 1 })
  await boss.start()
  try {
    const id = await boss.send(`${name}.dead`, data)
    if (id === null) throw new Error(`could not send to ${name}.dead`)
    await adminQuery(databaseUrl, `UPDATE ${QUEUE_SCHEMA}.job SET output = $1 WHERE id = $2`, [{ message: error }, id])
  } finally {
    await boss.stop({ graceful: false })
  }
}
