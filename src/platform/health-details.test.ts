import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../test/helpers/auth.ts'

// Detailed health is never public: admins at /api/v1/admin/health, METRICS_TOKEN holders at
// /health/details; everyone else gets 401/403 (API) or 404 (the token route).
const TOKEN = `mt_${randomBytes(16).toString('hex')}`
let t: TestApp
let admin: TestUser
let member: TestUser

beforeAll(async () => {
  t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } })
  admin = await makeUser(t.app, { roles: ['admin'] })
  member = await makeUser(t.app)
})
afterAll(async () => { await t.close() })

describe('detailed health', () => {
  it('gives admins every dependency with its latency, the version, node, uptime and migrations', async () => {
    const res = await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/health' }))
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({
      status: 'ok',
      checks: { database: { status: 'ok', critical: true } },
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      node: { id: expect.stringContaining(`:${process.pid}`), pid: process.pid, uptimeSeconds: expect.any(Number), nodeVersion: process.versions.node },
      queue: 'pg-boss',
      tracing: false,
      migrations: { latest: expect.any(String) }
    })
    expect(body.checks.database.ms).toBeGreaterThanOrEqual(0)
    expect(body.migrations.applied).toBe(body.migrations.expected)
  })

  it('refuses anonymous callers (401) and non-admins (403) on the API route', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/health' })).statusCode).toBe(401)
    expect((await t.app.inject(as(member, { method: 'GET', url: '/api/v1/admin/health' }))).statusCode).toBe(403)
    // The metrics token is no user credential: it does not open the API route.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/health', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(401)
  })

  it('answers METRICS_TOKEN holders at /health/details and is a 404 to anyone else', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/health/details', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toMatchObject({ status: 'ok', checks: { database: { status: 'ok' } } })
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }]) {
      const res = await t.app.inject({ method: 'GET', url: '/health/details', headers })
      expect(res.statusCode).toBe(404)
      expect(res.body).not.toContain('database')
    }
  })

  it('has no token route when METRICS_TOKEN is not set', async () => {
    const open = await createTestApp()
    try {
      expect((await open.app.inject({ method: 'GET', url: '/health/details' })).statusCode).toBe(404)
    } finally {
      await open.close()
    }
  })
})
