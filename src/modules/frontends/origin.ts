import { frontendErrors } from './errors.ts'

/** MAX_ORIGIN_LENGTH bounds one origin; real ones are far shorter. */
export const MAX_ORIGIN_LENGTH = 255

/**
 * canonicalOrigin returns an origin as a browser sends it in the `Origin` header (lowercase scheme
 * and host, punycode, no default port, no trailing slash), or null when the text is not a single
 * exact origin: a path, query, fragment, credentials, a wildcard, `null` or a scheme without a host
 * (file:, data:) are refused. Custom schemes of app shells (capacitor://localhost) are kept as given.
 */
export function canonicalOrigin (text: string): string | null {
  if (text.length > MAX_ORIGIN_LENGTH || /[\s*]/.test(text)) return null
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.host === '') return null
  if (url.pathname !== '' && url.pathname !== '/') return null
  // `new URL('https://a.test/?')` has an empty search but was given one: only a bare origin passes.
  if (/[?#]/.test(text)) return null
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin
  if (!/^[a-z][a-z0-9+.-]*:$/.test(url.protocol)) return null
  // Non-special schemes have an opaque `url.origin` ("null"): the browser sends scheme://host.
  return `${url.protocol}//${url.host}`
}

/** canonicalOrigins checks and normalises a list of origins, dropping duplicates; one invalid origin refuses the list (400). */
export function canonicalOrigins (list: readonly string[]): string[] {
  const out = new Set<string>()
  for (const text of list) {
    const origin = canonicalOrigin(text)
    if (origin === null) throw frontendErrors.FRONTEND_ORIGIN_INVALID(`"${text.slice(0, 100)}" is not an origin: write scheme://host[:port], e.g. https://app.example.com`)
    out.add(origin)
  }
  return [...out]
}
