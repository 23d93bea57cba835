import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../test/helpers/auth.ts'
import { defineModule } from './modules.ts'

// A plugin whose preClose takes a while (the realtime module gives sockets up to 2 s to close):
// between Fastify marking the app closing and the listener closing, requests keep arriving.
const slowPreClose = defineModule({
  name: 'slow-pre-close',
  plugin: async (app) => { app.addHook('preClose', async () => { await sleep(1000) }) }
})

// Rolling restarts behind nginx (TODO #11): while a node shuts down, nothing a proxy cannot retry may
// fail. Retryable requests are refused so the proxy sends them (and everything after) elsewhere;
// POST and PATCH are served to the end.
describe('shutdown: what a leaving node refuses and what it still serves', () => {
  let t: TestApp
  let user: TestUser

  beforeAll(async () => {
    t = await createTestApp({ modules: [slowPreClose] })
    user = await makeUser(t.app)
  })
  afterAll(async () => {
    await t.app.close().catch(() => {})
    await t.db.drop()
  })

  it('while refusing: GET, HEAD, DELETE get 503 NODE_DRAINING with Retry-After; POST and PATCH are served; probes answer', async () => {
    t.app.lifecycle.draining = true
    t.app.lifecycle.refusing = true
    try {
      for (const method of ['GET', 'HEAD', 'DELETE'] as const) {
        const refused = await t.app.inject(as(user, { method, url: '/api/v1/projects' }))
        expect(refused.statusCode, method).toBe(503)
        expect(refused.headers['retry-after']).toBe('1')
        expect(refused.headers.connection).toBe('close')
        if (method !== 'HEAD') expect(refused.json()).toMatchObject({ status: 503, code: 'NODE_DRAINING' })
      }
      const created = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/projects', payload: { name: 'written while leaving' } }))
      expect(created.statusCode).toBe(201)
      expect(created.headers.connection).toBe('close')
      const id = (created.json() as { id: string }).id
      const patched = await t.app.inject(as(user, { method: 'PATCH', url: `/api/v1/projects/${id}`, payload: { name: 'renamed while leaving' } }))
      expect(patched.statusCode).toBe(200)
      expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
      expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json()).toMatchObject({ status: 'draining' })
    } finally {
      t.app.lifecycle.draining = false
      t.app.lifecycle.refusing = false
    }
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/projects' }))).statusCode).toBe(200)
  })

  it('a POST that reaches the node after close() began is served with Connection: close, not refused with 503', async () => {
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const closing = t.app.close()
    // close() marked the app closing and runs the preClose hooks; the listener still accepts.
    await sleep(200)
    const res = await fetch(`${base}/api/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'written while closing' }) })
    expect(res.status).toBe(201)
    expect(res.headers.get('connection')).toBe('close')
    await closing
  })
})
