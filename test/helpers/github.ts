import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** GithubPerson is who the stand-in signs in: GitHub's numeric id, login, name and /user/emails entries. */
export interface GithubPerson { id: number, login: string, name?: string, emails: Array<{ email: string, verified: boolean, primary: boolean }> }

/** StandInGithub is a loopback server speaking GitHub's documented OAuth app and REST endpoints. */
export interface StandInGithub {
  endpoints: { authorization: string, token: string, user: string }
  clientId: string
  clientSecret: string
  /** person is whom the next authorization signs in. */
  person: GithubPerson | undefined
  /** tokenRequests counts code exchanges (to see that a refused state never reaches the token endpoint). */
  tokenRequests: number
  stop: () => Promise<void>
}

const readBody = async (req: IncomingMessage) => {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  return body
}
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/**
 * startStandInGithub serves, like github.com: /login/oauth/authorize (redirects straight back with a
 * code: the person is already signed in and has approved the app), /login/oauth/access_token
 * (checks client, redirect_uri and the PKCE S256 verifier, answers JSON to `accept: application/json`),
 * /user and /user/emails (bearer token).
 */
export async function startStandInGithub (redirectUri: string): Promise<StandInGithub> {
  const codes = new Map<string, { person: GithubPerson, challenge: string, redirectUri: string }>()
  const tokens = new Map<string, GithubPerson>()
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const handle = async () => {
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
        const q = url.searchParams
        if (q.get('client_id') !== github.clientId || q.get('redirect_uri') !== redirectUri || q.get('code_challenge_method') !== 'S256' || !github.person) return json(res, 400, { error: 'bad authorization request' })
        const code = randomBytes(10).toString('hex')
        codes.set(code, { person: github.person, challenge: q.get('code_challenge') ?? '', redirectUri })
        const back = new URL(redirectUri)
        back.searchParams.set('code', code)
        back.searchParams.set('state', q.get('state') ?? '')
        return res.writeHead(302, { location: back.toString() }).end()
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        github.tokenRequests++
        const form = new URLSearchParams(await readBody(req))
        const grant = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
        const verifier = form.get('code_verifier') ?? ''
        const ok = grant && form.get('client_id') === github.clientId && form.get('client_secret') === github.clientSecret &&
          form.get('redirect_uri') === grant.redirectUri && createHash('sha256').update(verifier).digest('base64url') === grant.challenge
        // GitHub answers 200 with an error field for a bad code (its documented behaviour).
        if (!ok) return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' })
        const token = `gho_${randomBytes(16).toString('hex')}`
        tokens.set(token, grant.person)
        return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' })
      }
      const person = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''))
      if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/emails')) {
        if (!person) return json(res, 401, { message: 'Bad credentials' })
        if (!req.headers['user-agent']) return json(res, 403, { message: 'User-Agent required' })
        return json(res, 200, url.pathname === '/user' ? { id: person.id, login: person.login, name: person.name ?? null, email: null } : person.emails)
      }
      json(res, 404, { message: 'Not Found' })
    }
    handle().catch(() => { json(res, 500, { message: 'stand-in failed' }) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const github: StandInGithub = {
    endpoints: { authorization: `${base}/login/oauth/authorize`, token: `${base}/login/oauth/access_token`, user: `${base}/user` },
    clientId: 'Iv1.standin0123',
    clientSecret: 'github-standin-secret-0123456789',
    person: undefined,
    tokenRequests: 0,
    stop: () => new Promise((resolve) => { server.close(() => { resolve() }); server.closeAllConnections() })
  }
  return github
}
