import * as client from 'openid-client'

/** GithubEndpoints are the URLs a GitHub provider uses: github.com by default, a GitHub Enterprise Server (or a test stand-in) when set. */
export interface GithubEndpoints { authorization: string, token: string, user: string }

/** GITHUB_ENDPOINTS are github.com's documented OAuth app endpoints. */
export const GITHUB_ENDPOINTS: GithubEndpoints = {
  authorization: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
  user: 'https://api.github.com/user'
}

/** ProviderClaims is what a provider tells about the person, whatever the protocol. */
export interface ProviderClaims { sub: string, email?: string, email_verified?: boolean, name?: string }

/**
 * githubConfiguration is a plain OAuth2 client configuration for GitHub (no discovery, no ID
 * token): the authorization and token endpoints only; the issuer is the authorization host.
 */
export function githubConfiguration (endpoints: GithubEndpoints, clientId: string, secret: string | undefined, insecure: boolean): client.Configuration {
  const configuration = new client.Configuration(
    { issuer: new URL(endpoints.authorization).origin, authorization_endpoint: endpoints.authorization, token_endpoint: endpoints.token },
    clientId, secret
  )
  if (insecure) client.allowInsecureRequests(configuration)
  return configuration
}

interface GithubEmail { email?: unknown, verified?: unknown, primary?: unknown }

// GitHub's REST API wants a User-Agent and names its media type; the token goes as a bearer token.
const API_HEADERS = new Headers({ accept: 'application/vnd.github+json', 'user-agent': 'Backplane', 'x-github-api-version': '2022-11-28' })

async function getJson (configuration: client.Configuration, accessToken: string, url: string): Promise<unknown> {
  const res = await client.fetchProtectedResource(configuration, accessToken, new URL(url), 'GET', undefined, API_HEADERS)
  if (!res.ok) throw new Error(`GitHub answered ${res.status} at ${new URL(url).pathname}`)
  return res.json()
}

/**
 * githubClaims reads the person behind a GitHub access token: the subject is GitHub's numeric user
 * id (a login can be renamed and reused; the id cannot), and the email only from /user/emails
 * entries GitHub marks verified, the primary one first (the profile's public email is unverified).
 */
export async function githubClaims (configuration: client.Configuration, accessToken: string, endpoints: GithubEndpoints): Promise<ProviderClaims> {
  const user = await getJson(configuration, accessToken, endpoints.user) as { id?: unknown, name?: unknown, login?: unknown }
  if (typeof user.id !== 'number' || !Number.isSafeInteger(user.id)) throw new Error('GitHub /user has no numeric id')
  const list = await getJson(configuration, accessToken, `${endpoints.user.replace(/\/+$/, '')}/emails`)
  const verified = (Array.isArray(list) ? list as GithubEmail[] : [])
    .filter((e): e is { email: string, verified: true, primary?: unknown } => typeof e.email === 'string' && e.verified === true)
    .sort((a, b) => Number(b.primary === true) - Number(a.primary === true))
  const name = typeof user.name === 'string' && user.name ? user.name : typeof user.login === 'string' ? user.login : undefined
  return { sub: String(user.id), email: verified[0]?.email, email_verified: verified.length > 0, name }
}
