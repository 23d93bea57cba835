import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import { registerDocsPage } from './docs-page.ts'
import { correctDocument } from './openapi-document.ts'
import { description, version } from '../lib/version.ts'

/** The schema of a raw body (the file itself): documented only, since such routes parse no body to validate. */
const BINARY_BODY = { type: 'string', format: 'binary', description: 'The bytes of the file; Content-Type declares their type' }

/**
 * documentedBody gives a route that takes its body raw (`consumes: ['application/octet-stream']` and no
 * body schema: the upload routes) a binary request body in the document, so the typed client can send a file.
 */
function documentedBody<S extends { consumes?: unknown, body?: unknown }> (schema: S): S {
  const raw = Array.isArray(schema.consumes) && schema.consumes.includes('application/octet-stream') && schema.body === undefined
  return raw ? { ...schema, body: BINARY_BODY } : schema
}

/**
 * openapi builds the OpenAPI 3.1 document from the route schemas (`/openapi.json`) and serves the
 * interactive reference at `/docs`; both are off in production unless DOCS_ENABLED=true.
 */
export default fp(async function openapi (app) {
  const { config } = app
  await app.register(swagger, {
    // platform/auth documents `security` on every protected /api/ route; a route left without it is public.
    transform: ({ schema, url }) => ({ schema: documentedBody(schema?.security ? schema : { ...schema, security: [] }), url }),
    transformObject: (document) => 'openapiObject' in document ? correctDocument(document.openapiObject) : document.swaggerObject,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Backplane API',
        version,
        description,
        license: { name: 'MIT', identifier: 'MIT' }
      },
      // Without PUBLIC_URL the document's own origin: a relative URL resolves against where it was read
      // (behind a proxy too), where a guessed `http://localhost:PORT` would be wrong for any remote reader.
      servers: [{ url: config.http.publicUrl ?? '/', description: 'This Backplane' }],
      tags: [
        { name: 'health', description: 'Liveness and readiness probes' },
        { name: 'instance', description: 'Facts about this Backplane instance' },
        { name: 'auth', description: 'Sign-in, tokens, sessions and mailed-link flows' },
        { name: 'users', description: 'The signed-in user: profile, password, email, sessions' },
        { name: 'api-keys', description: 'API keys for services and scripts' },
        { name: 'admin', description: 'Administration: users, invitations, audit log' }
      ],
      // The schemes platform/auth names in each protected route's `security`.
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A 15-minute access token' },
          apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (bp_…)' }
        }
      }
    }
  })
  if (!config.docs.enabled) return
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger())
  registerDocsPage(app, 'Backplane API')
}, { name: 'openapi' })
