import { request as httpRequest } from 'node:http'
import { randomUUID } from 'node:crypto'

/** Reply is a status and a parsed JSON body (null when the body is empty or not JSON). */
export interface Reply { status: number, body: Record<string, unknown> | null, headers: Record<string, string | string[] | undefined> }

/**
 * freshRequest sends one request on a new TCP connection (no keep-alive agent), so consecutive
 * requests are spread over a node's worker processes (node:cluster hands out connections round-robin).
 */
export function freshRequest (url: string, options: { method?: string, headers?: Record<string, string>, json?: unknown, timeoutMs?: number } = {}): Promise<Reply> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json)
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: options.method ?? 'GET',
      agent: false,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      timeout: options.timeoutMs ?? 10_000
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        let parsed: Record<string, unknown> | null = null
        try { parsed = text === '' ? null : JSON.parse(text) as Record<string, unknown> } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`no reply within ${options.timeoutMs ?? 10_000} ms`)) })
    req.on('error', reject)
    req.end(body)
  })
}

/** SignedIn is an account made through the public API with its first session. */
export interface SignedIn { email: string, password: string, userId: string, accessToken: string, refreshToken: string, sessionId: string }

/** bearer is the Authorization header of a signed-in account. */
export const bearer = (who: { accessToken: string }) => ({ authorization: `Bearer ${who.accessToken}` })

/** signIn logs an existing account in once more (a new session). */
export async function signIn (base: string, email: string, password: string): Promise<Omit<SignedIn, 'userId'>> {
  const login = await freshRequest(`${base}/api/v1/auth/login`, { method: 'POST', json: { email, password } })
  if (login.status !== 200 || !login.body) throw new Error(`login answered ${login.status}`)
  const { accessToken, refreshToken, sessionId } = login.body as { accessToken: string, refreshToken: string, sessionId: string }
  return { email, password, accessToken, refreshToken, sessionId }
}

/** signUp registers a unique account through the API (open registration) and signs it in. */
export async function signUp (base: string): Promise<SignedIn> {
  const email = `u-${randomUUID()}@example.com`
  const password = `Pw-${randomUUID()}`
  const registered = await freshRequest(`${base}/api/v1/auth/register`, { method: 'POST', json: { email, password } })
  if (registered.status !== 202) throw new Error(`register answered ${registered.status}`)
  const session = await signIn(base, email, password)
  const me = await freshRequest(`${base}/api/v1/users/me`, { headers: bearer(session) })
  return { ...session, userId: String(me.body?.id) }
}
