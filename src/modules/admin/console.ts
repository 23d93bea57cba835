import { existsSync, statSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fastifyStatic from '@fastify/static'
import { adminErrors } from './errors.ts'

/**
 * defaultConsoleDir is the built console inside the package: `src/modules/admin/` and
 * `dist/modules/admin/` both sit three levels below the package root, so the same path works from
 * the sources, from `dist/` and in the Docker image (which copies `dashboard/dist`).
 */
export const defaultConsoleDir = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url))

// The console is a same-origin SPA: no inline script or style, no outside origin (it works offline).
const STATIC_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'"
]
// A host as a browser sends it (name or address, optional port): anything else stays out of the policy.
const HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/i

/**
 * consolePolicy is the Content-Security-Policy of the console's pages. `connect-src 'self'` covers
 * ws: and wss: to the same host in CSP Level 3; the request's host (the forwarded one behind a
 * trusted proxy) is named for the realtime socket too, for browsers that do not apply that rule.
 */
export function consolePolicy (host: string | undefined): string {
  const connect = host !== undefined && HOST.test(host) ? `connect-src 'self' ws://${host} wss://${host}` : "connect-src 'self'"
  return [...STATIC_POLICY, connect].join('; ')
}

const IMMUTABLE = 'public, max-age=31536000, immutable'
// A file name with an extension is a file; anything else under /admin/ is a console route.
const FILE_LIKE = /\/[^/]*\.[a-z0-9]+$/i

function consoleHeaders (request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', consolePolicy(request.host))
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
}

// Console routes skip the per-IP limits (as /docs does): a page load is a handful of cheap static
// reads. They are pages, not API operations: the OpenAPI document leaves them out.
function asConsoleRoute (route: RouteOptions): void {
  route.config = { ...route.config, rateLimit: false }
  route.schema = { ...route.schema, hide: true }
}

function serveBuilt (app: FastifyInstance, dir: string): void {
  const assets = join(dir, 'assets')
  app.register(fastifyStatic, {
    root: assets,
    prefix: '/admin/assets/',
    // Hashed names never change content: cached for a year; .br/.gz siblings are sent when present,
    // other replies are compressed on the fly by @fastify/compress.
    preCompressed: true,
    cacheControl: false,
    // Called for reply.sendFile too: only what lies under assets/ is immutable.
    setHeaders: (reply: FastifyReply, path: string) => { if (path.startsWith(assets + sep)) reply.header('cache-control', IMMUTABLE) },
    index: false,
    dotfiles: 'ignore',
    decorateReply: true
  })
  const sendIndex = async (request: FastifyRequest, reply: FastifyReply) => {
    // The page names the current hashed assets: revalidated on every load.
    return consoleHeaders(request, reply).header('cache-control', 'no-cache').sendFile('index.html', dir, { cacheControl: false })
  }
  app.get('/admin', sendIndex)
  app.get('/admin/*', async (request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    if (!FILE_LIKE.test(path)) return sendIndex(request, reply)
    // Top-level files of the build (favicon, robots.txt): served when they exist, 404 otherwise.
    const name = path.slice('/admin/'.length)
    if (name.includes('/') || name.startsWith('.') || !isFile(join(dir, name))) return reply.callNotFound()
    return consoleHeaders(request, reply).header('cache-control', 'public, max-age=3600').sendFile(name, dir, { cacheControl: false })
  })
}

function isFile (path: string): boolean {
  try { return statSync(path).isFile() } catch { return false }
}

/**
 * consoleRoutes serve the admin console (`dashboard/dist`) at /admin: hashed assets immutable and
 * compressed, index.html revalidated, every other /admin/ path answered with the page (SPA
 * fallback) under a strict CSP. Without a build, /admin answers 503 saying how to build it.
 */
export function consoleRoutes (dir: string): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRoute', asConsoleRoute)
    // `/` has nothing of its own: people who open the server in a browser land on the console.
    app.get('/', async (_request, reply) => reply.redirect('/admin/', 302))
    const root = resolve(dir)
    if (existsSync(join(root, 'index.html'))) {
      serveBuilt(app, root)
      return
    }
    const unbuilt = async () => {
      throw adminErrors.CONSOLE_NOT_BUILT(`The admin console is not built: ${root} has no index.html. Run \`npm install\` in the Backplane folder (it builds the console), or point ADMIN_CONSOLE_DIR at a built console, then restart.`)
    }
    app.get('/admin', unbuilt)
    app.get('/admin/*', unbuilt)
  }
}
