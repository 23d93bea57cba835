import { Writable } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyInstance, HTTPMethods, RouteOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildApp } from '../../src/app.ts'
import type * as ModulesIndex from '../../src/modules/index.ts'
import { defineModule, type BackplaneModule } from '../../src/platform/modules.ts'
import { createTestApp, testConfig, type TestApp } from '../helpers/app.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { scanResponses } from '../helpers/leaks.ts'

// Every /api/ route must declare who may call it (SECURITY.md AZ-04: "CI fails if any route lacks
// an annotation"). The platform auth plugin enforces it at start-up; this file proves the
// enforcement and then audits the real app: every route is listed with its access, none lacks one,
// and every non-public one refuses an anonymous caller.

// A collector module goes *first* in the built-in list, so its onRoute hook sees every module route.
const seen = vi.hoisted(() => new Map<string, string | undefined>())
vi.mock('../../src/modules/index.ts', async (importOriginal) => {
  const original = await importOriginal<typeof ModulesIndex>()
  const collector: BackplaneModule = {
    name: 'route-collector',
    plugin: fp(async (app) => {
      app.addHook('onRoute', (route: RouteOptions) => {
        for (const method of [route.method].flat()) seen.set(`${method} ${route.url}`, route.config?.access)
      })
    }, { name: 'route-collector' })
  }
  return { builtinModules: [collector, ...original.builtinModules] }
})

function teamModule (name: string, config: Record<string, unknown>): BackplaneModule {
  return defineModule({
    name,
    plugin: fp(async (app) => {
      app.get('/api/v1/x', { config, schema: { response: { 200: { type: 'object' } } } }, async () => ({}))
    }, { name })
  })
}

async function buildWith (db: TestDatabase, mod: BackplaneModule): Promise<FastifyInstance> {
  const quiet = new Writable({ write (_chunk, _encoding, done) { done() } })
  return buildApp(testConfig(), { databaseUrl: db.url, modules: [mod], logStream: quiet, mailer: { send: async () => {}, close: async () => {} } })
}

describe('the access declaration is enforced at start-up', () => {
  let db: TestDatabase
  beforeAll(async () => { db = await createTestDatabase() })
  afterAll(async () => { await db.drop() })

  it('refuses to start with an /api/ route that declares no access, naming the route', async () => {
    await expect(buildWith(db, teamModule('no-access', {})).then((app) => app.ready())).rejects.toThrow(/GET \/api\/v1\/x must declare config\.access/)
  })

  it('refuses an access value that is neither a level nor a permission', async () => {
    await expect(buildWith(db, teamModule('bad-access', { access: 'admins only' })).then((app) => app.ready())).rejects.toThrow(/\/api\/v1\/x: config\.access "admins only"/)
  })

  it('refuses at ready a route requiring a permission no module declared', async () => {
    const app = await buildWith(db, teamModule('undeclared', { access: 'nope:do' }))
    try {
      await expect(app.ready()).rejects.toThrow(/undeclared permission nope:do/)
    } finally {
      await app.close().catch(() => {})
    }
  })

  it('starts with the same route once it declares a real access level', async () => {
    const app = await buildWith(db, teamModule('fine', { access: 'user' }))
    try {
      await app.ready()
      expect((await app.inject({ method: 'GET', url: '/api/v1/x' })).statusCode).toBe(401)
    } finally {
      await app.close()
    }
  })
})

/**
 * routesOf lists every method + path the router holds, read from `printRoutes` (the router itself,
 * so routes registered before the collector, by platform plugins, are in it too).
 */
function routesOf (app: FastifyInstance): Array<{ method: HTTPMethods, url: string }> {
  const out: Array<{ method: HTTPMethods, url: string }> = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    stack.length = depth
    stack.push(match[2]!)
    const url = stack.join('')
    for (const method of match[3]?.split(', ') ?? []) out.push({ method: method as HTTPMethods, url })
  }
  return out
}

describe('the real app', () => {
  let t: TestApp
  beforeAll(async () => {
    // Only this app's routes: the start-up tests above built apps of their own.
    seen.clear()
    t = await createTestApp()
    scanResponses(t.app)
  })
  afterAll(async () => { await t.close() })

  it('declares an access level on every /api/ route', () => {
    const api = routesOf(t.app).filter((r) => r.url.startsWith('/api/'))
    expect(api.length).toBeGreaterThan(15)
    const table = api.map((r) => ({ route: `${r.method} ${r.url}`, access: seen.get(`${r.method} ${r.url}`) ?? seen.get(`GET ${r.url}`) }))
    console.info(`access per route:\n${table.map((r) => `  ${r.route.padEnd(48)} ${r.access ?? 'MISSING'}`).join('\n')}`)
    expect(table.filter((r) => !r.access).map((r) => r.route)).toEqual([])
    // The collector saw every route the router holds under /api/, and no /api/ route escaped it.
    const collected = [...seen.keys()].filter((k) => k.split(' ')[1]!.startsWith('/api/'))
    expect(collected.filter((k) => !api.some((r) => `${r.method} ${r.url}` === k))).toEqual([])
  })

  it('refuses an anonymous caller on every /api/ route that is not public', async () => {
    const id = '01900000-0000-7000-8000-000000000000'
    const guarded = routesOf(t.app).filter((r) => r.url.startsWith('/api/') && r.method !== 'OPTIONS')
      .filter((r) => (seen.get(`${r.method} ${r.url}`) ?? seen.get(`GET ${r.url}`)) !== 'public')
    expect(guarded.length).toBeGreaterThan(10)
    const wrong: string[] = []
    for (const r of guarded) {
      const res = await t.app.inject({ method: r.method, url: r.url.replace(/:[A-Za-z]+/g, id), payload: r.method === 'GET' || r.method === 'HEAD' || r.method === 'DELETE' ? undefined : {} })
      if (res.statusCode !== 401) wrong.push(`${r.method} ${r.url} → ${res.statusCode}`)
    }
    expect(wrong).toEqual([])
  })

  it('keeps the public /api/ routes to the sign-in flows and the instance identity', () => {
    const open = [...seen].filter(([k, access]) => access === 'public' && k.split(' ')[1]!.startsWith('/api/')).map(([k]) => k).sort()
    // Sign-in flows are POSTs, except the two GETs a browser must reach without credentials: the
    // provider list of a sign-in page and the OpenID Connect redirect back from the provider. A
    // signed file download carries its credential in its query (an HMAC checked by the files module).
    // The VAPID public key is public by nature: a page needs it before it can subscribe its browser.
    // One-click unsubscribe (RFC 8058) is POSTed by mail clients with no session: its credential is the
    // signed token in the body (an HMAC checked by the notifications module).
    for (const route of open) expect(route).toMatch(/^(GET|HEAD) \/api\/v1\/instance$|^POST \/api\/v1\/auth\/|^(GET|HEAD) \/api\/v1\/auth\/(providers|oidc\/callback)$|^(GET|HEAD) \/api\/v1\/files\/:id\/download$|^(GET|HEAD) \/api\/v1\/push\/vapid-public-key$|^POST \/api\/v1\/notifications\/unsubscribe$/)
  })
})
