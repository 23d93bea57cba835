import { ProblemError } from '../session/api.ts'
import type { Api, Problem } from '../session/api.ts'

/**
 * callPending calls an admin endpoint that CONTRACTS.md promises (analytics, settings, a user's
 * sessions and API keys) but the generated schema does not type yet; it answers null on 404 so
 * a page can fall back to what the API gives today. Regenerate src/api (npm run dashboard:api)
 * once the server serves them, and move the page to the typed client.
 */
export async function callPending<T> (api: Api, method: 'GET' | 'POST' | 'DELETE', path: string): Promise<T | null> {
  const token = await api.tokens.accessToken()
  const res = await fetch(`${api.baseUrl}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } })
  if (res.status === 404 && method === 'GET') return null
  const json: unknown = res.status === 204 ? null : await res.json().catch(() => null)
  if (!res.ok) throw new ProblemError({ status: res.status, ...(json as Problem | null) })
  return json as T
}
