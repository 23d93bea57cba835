import { createBackplaneClient } from '../api/client.ts'
import type { BackplaneClient } from '../api/client.ts'
import { TokenStore } from './tokens.ts'
import type { TokenPair } from './tokens.ts'

/** Problem is an application/problem+json answer of the API. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  errors?: unknown
}

/** ProblemError carries the API's problem+json so the page can show its detail. */
export class ProblemError extends Error {
  readonly problem: Problem
  constructor (problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status ?? '?'}`)
    this.problem = problem
  }
}

/** unwrap returns an openapi-fetch answer's data, or throws its problem. */
export function unwrap<T> (answer: { data?: T, error?: unknown, response: Response }): T {
  if (answer.error !== undefined || !answer.response.ok) {
    const p = (typeof answer.error === 'object' && answer.error !== null ? answer.error : {}) as Problem
    throw new ProblemError({ status: answer.response.status, ...p })
  }
  return answer.data as T
}

/** refreshPair rotates the refresh token through the typed client (one without a token: the refresh token is the credential). */
async function refreshPair (auth: BackplaneClient, refreshToken: string): Promise<TokenPair | null> {
  const { data, response } = await auth.POST('/api/v1/auth/refresh', { body: { refreshToken } })
  if (response.status === 401 || response.status === 403 || response.status === 400) return null
  if (!response.ok || data === undefined) throw new Error(`refresh: ${response.status}`)
  return data
}

/** Api is the console's one typed client and the session it calls with. */
export interface Api {
  client: BackplaneClient
  tokens: TokenStore
  baseUrl: string
}

/**
 * createApi builds the typed client (generated from the OpenAPI document) with the in-memory
 * token; a 401 triggers one refresh and one retry, and a refused refresh signs the console out.
 */
export function createApi (baseUrl = ''): Api {
  const origin = baseUrl === '' ? globalThis.location.origin : baseUrl
  const auth = createBackplaneClient({ baseUrl: origin })
  const tokens = new TokenStore((rt) => refreshPair(auth, rt))
  const retrying = async (request: Request): Promise<Response> => {
    const again = request.clone()
    const res = await fetch(request)
    if (res.status !== 401 || !tokens.signedIn || !request.headers.has('Authorization')) return res
    const token = await tokens.refresh()
    if (token === null) return res
    again.headers.set('Authorization', `Bearer ${token}`)
    return await fetch(again)
  }
  const client = createBackplaneClient({
    baseUrl: origin,
    getToken: () => tokens.accessToken(),
    fetch: retrying
  })
  return { client, tokens, baseUrl }
}
