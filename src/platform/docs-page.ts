import type { FastifyInstance } from 'fastify'

const CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"

const page = (title: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${title}</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="/docs/scalar.js"></script>
  </body>
</html>
`

// The Scalar bundle is a 4 MB string inside its Fastify plugin: importing the plugin costs ~25 MB
// of RSS and ~0.4 s at start-up whether or not anyone opens the docs. It is loaded on the first
// request for it instead, through a throwaway instance of the plugin, and kept as one Buffer.
let bundle: Promise<Buffer> | undefined
async function scalarBundle (): Promise<Buffer> {
  bundle ??= (async () => {
    const [{ default: Fastify }, { default: apiReference }] = await Promise.all([import('fastify'), import('@scalar/fastify-api-reference')])
    const scratch = Fastify({ logger: false })
    await scratch.register(apiReference, { routePrefix: '/r', configuration: { url: '/openapi.json' } })
    const res = await scratch.inject({ method: 'GET', url: '/r/js/scalar.js' })
    await scratch.close()
    if (res.statusCode !== 200) throw new Error(`the Scalar bundle could not be loaded (${res.statusCode})`)
    return res.rawPayload
  })()
  bundle.catch(() => { bundle = undefined })
  return bundle
}

/** registerDocsPage serves the interactive API reference at `/docs` (Scalar, loaded on first use). */
export function registerDocsPage (app: FastifyInstance, title: string): void {
  const html = page(title)
  const common = { schema: { hide: true }, config: { rateLimit: false } }
  for (const url of ['/docs', '/docs/']) {
    app.get(url, common, async (_request, reply) => {
      // The reference page runs scripts: it gets a policy of its own, still unframeable.
      reply.header('content-security-policy', CSP).type('text/html; charset=utf-8')
      return html
    })
  }
  app.get('/docs/scalar.js', common, async (_request, reply) => {
    reply.header('content-security-policy', CSP).header('cache-control', 'public, max-age=3600').type('text/javascript; charset=utf-8')
    return scalarBundle()
  })
}
