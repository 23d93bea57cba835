import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { freePort, projectRoot } from './process.ts'

/** TestProvider is a running oidc-provider child process on loopback. */
export interface TestProvider {
  issuer: string
  clientId: string
  clientSecret: string
  /** control sets the account the next sign-in uses and the misbehaviour flags. */
  control: (settings: { account?: { sub: string, email?: string, email_verified?: boolean, name?: string }, wrongJwks?: boolean, clockOffsetMs?: number }) => Promise<void>
  stop: () => Promise<void>
}

/** startTestProvider starts `test/helpers/oidc-test-provider.mjs` with one client whose redirect URI is Backplane's callback. */
export async function startTestProvider (redirectUri: string): Promise<TestProvider> {
  const port = await freePort()
  const clientId = 'backplane-test'
  const clientSecret = 'oidc-test-client-secret-0123456789'
  const child: ChildProcess = spawn(process.execPath, [join(projectRoot, 'test/helpers/oidc-test-provider.mjs')], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, REDIRECT_URI: redirectUri, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let errors = ''
  child.stderr!.on('data', (chunk: Buffer) => { errors += chunk.toString() })
  const issuer = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { const m = /ready (\S+)/.exec(chunk.toString()); if (m) resolve(m[1]!) })
    child.on('exit', (code) => { reject(new Error(`oidc test provider exited ${code}: ${errors}`)) })
  })
  return {
    issuer,
    clientId,
    clientSecret,
    control: async (settings) => {
      const res = await fetch(`${issuer}/__control`, { method: 'POST', body: JSON.stringify(settings) })
      if (res.status !== 204) throw new Error(`control failed: ${res.status}`)
    },
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.on('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

/**
 * browse follows redirects like a browser (cookies kept per run) from `start` until a URL starting
 * with `until`, which it returns without fetching: the provider's login and consent run on their own.
 */
export async function browse (start: string, until: string): Promise<string> {
  const jar = new Map<string, string>()
  let url = start
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(until)) return url
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } })
    for (const cookie of res.headers.getSetCookie()) {
      const pair = cookie.split(';')[0]!
      const at = pair.indexOf('=')
      jar.set(pair.slice(0, at), pair.slice(at + 1))
    }
    const location = res.headers.get('location')
    if (!location) throw new Error(`no redirect from ${url}: ${res.status} ${(await res.text()).slice(0, 500)}`)
    url = new URL(location, url).toString()
  }
  throw new Error(`too many redirects from ${start}`)
}

/** land calls Backplane's callback like the browser and returns the frontend URL it sends the browser to (or the problem). */
export async function land (callback: string, requestId?: string) {
  const res = await fetch(callback, { redirect: 'manual', headers: requestId ? { 'x-request-id': requestId } : {} })
  return { status: res.status, location: res.headers.get('location') ? new URL(res.headers.get('location')!) : undefined, body: res.status >= 400 ? (await res.json()) as { code: string } : undefined }
}
