import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import { jsonDepthExceeds } from '../lib/json-depth.ts'
import type { RouteOptions } from 'fastify'
import { platformErrors } from './errors.ts'
import { ProblemSchema } from './problem-schema.ts'

// PostgreSQL text and jsonb cannot hold U+0000: a NUL that reached a query was a 500 (SQLSTATE
// 22021/22P05). It is refused at the edge, in the URL (`%00`) and as a JSON escape (`\u0000` not
// preceded by an escaping backslash); raw NUL bytes are already invalid JSON.
const NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/
const nulRefused = () => platformErrors.NUL_CHARACTER()

/**
 * apiSecurityHeaders are the response headers the OWASP REST Security Cheat Sheet lists for JSON
 * APIs, set once per reply. helmet's HTML-page headers (DNS prefetch, download options, XSS filter,
 * opener policy …) protect documents an API never serves, and every header costs time on every
 * reply: the set is kept to what applies.
 */
export function apiSecurityHeaders (production: boolean): Record<string, string> {
  return {
    // Nothing may frame, embed or script a JSON reply. /docs sets its own policy.
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-site',
    'cache-control': 'no-store',
    ...(production ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {})
  }
}

/**
 * security applies the HTTP baseline of SECURITY.md: security headers, `no-store` caching, exact-match
 * CORS (against `app.corsOrigins`), JSON-only bodies (415 otherwise) with a depth limit, a URL length limit (414), no NUL characters, and prototype-poisoning refusal.
 */
export default fp(async function security (app) {
  const { config } = app
  // One synchronous hook sets every static header, `no-store` (a route that may be cached sets its own
  // Cache-Control in its handler) and the request id: per-request hooks are the pipeline's main cost.
  const baseline = apiSecurityHeaders(config.production)
  const { maxUrlLength } = config.http
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(baseline)
    reply.header('x-request-id', request.id)
    // Node's only bound on a URL is the 16 KiB header limit; no route needs more than a few KiB (HT-03).
    if (request.url.length > maxUrlLength) {
      done(platformErrors.URL_TOO_LONG(`The URL is longer than ${maxUrlLength} characters`))
      return
    }
    if (request.url.includes('%00')) {
      done(nulRefused())
      return
    }
    const encoding = request.headers['content-encoding']
    // Compressed request bodies are refused: decoding them would let a small upload expand past the body limit.
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      done(platformErrors.CONTENT_ENCODING_UNSUPPORTED())
      return
    }
    done()
  })

  // Every route can answer 414 (the hook above runs for all): say so in its schema and the document.
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as { response?: Record<string, unknown> } | undefined
    if (!schema?.response || schema.response[414]) return
    schema.response = { ...schema.response, 414: ProblemSchema }
  })

  await app.register(cors, {
    // Unknown origins get no CORS headers at all; the browser then blocks the read. The list is
    // CORS_ORIGINS plus the enabled frontends' origins, kept current on every node without a restart.
    origin: (origin, cb) => cb(null, app.corsOrigins.allows(origin)),
    credentials: config.cors.credentials,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Frontend-Key', 'X-Request-ID', 'Idempotency-Key'],
    exposedHeaders: ['X-Request-ID', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
    maxAge: 600,
    strictPreflight: true
  })

  // Bodies are JSON only: drop the built-in text/plain parser so anything else is a 415.
  app.removeAllContentTypeParsers()
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const maxDepth = config.http.jsonMaxDepth
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    // Many clients send `Content-Type: application/json` on a POST without a body (claim, cancel,
    // run now): that is no body, not an error. A route that needs a body still gets its 400.
    if (text === '') {
      done(null, undefined)
      return
    }
    if (jsonDepthExceeds(text, maxDepth)) {
      done(platformErrors.JSON_TOO_DEEP(`JSON nesting is deeper than ${maxDepth} levels`), undefined)
      return
    }
    if (text.includes('\\u0000') && NUL_ESCAPE.test(text)) {
      done(nulRefused(), undefined)
      return
    }
    parseJson(request, text, done)
  })
}, { name: 'security', dependencies: ['errors', 'cors-origins'] })
