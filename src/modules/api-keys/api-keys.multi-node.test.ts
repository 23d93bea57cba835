import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../app.ts'
import { createTestApp, testConfig, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { requireServices } from '../../../test/helpers/services.ts'
import { freePort } from '../../lib/free-port.ts'

// Two nodes share one database and one Redis: revoking or rotating a key on one node must stop it on
// the other through the cache bus, well within the 10 s cache TTL.
const hasRedis = Boolean(process.env.REDIS_URL) || spawnSync('redis-server', ['--version']).status === 0
if (requireServices && !hasRedis) throw new Error('the services lane needs Redis (REDIS_URL or redis-server)')

async function startRedis (): Promise<{ url: string, stop: () => void }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: () => {} }
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const url = `redis://127.0.0.1:${port}`
  const { Redis } = await import('ioredis')
  await vi.waitFor(async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    try { await probe.connect(); await probe.ping() } finally { probe.disconnect() }
  }, { timeout: 10_000, interval: 100 })
  return { url, stop: () => { child.kill('SIGTERM') } }
}

describe.skipIf(!hasRedis)('two nodes sharing Redis', () => {
  let redis: { url: string, stop: () => void }
  let a: TestApp
  let b: FastifyInstance
  beforeAll(async () => {
    redis = await startRedis()
    a = await createTestApp({ env: { REDIS_URL: redis.url } })
    const quiet = new Writable({ write (_c, _e, cb) { cb() } })
    b = await buildApp(testConfig({ REDIS_URL: redis.url }), { databaseUrl: a.db.url, logStream: quiet })
    await b.ready()
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
    redis?.stop()
  })

  const onB = (key: string) => b.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { 'x-api-key': key } })

  it('a key revoked on node A is refused by node B, which had it cached', async () => {
    const admin = await makeUser(a.app, { roles: ['admin'] })
    const created = (await a.app.inject(as(admin, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'n', scopes: ['user:read'] } }))).json()
    expect((await onB(created.key)).statusCode).toBe(200)
    expect((await onB(created.key)).statusCode).toBe(200)
    expect((await a.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/api-keys/${created.id}` }))).statusCode).toBe(204)
    // The bus message is asynchronous; 3 s is far below the 10 s TTL, so passing proves the invalidation.
    await vi.waitFor(async () => { expect((await onB(created.key)).statusCode).toBe(401) }, { timeout: 3000, interval: 25 })
  })

  it('a key rotated on node A stops working on node B; the new one works there', async () => {
    const admin = await makeUser(a.app, { roles: ['admin'] })
    const created = (await a.app.inject(as(admin, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'n', scopes: ['user:read'] } }))).json()
    expect((await onB(created.key)).statusCode).toBe(200)
    const rotated = (await a.app.inject(as(admin, { method: 'POST', url: `/api/v1/api-keys/${created.id}/rotate` }))).json()
    await vi.waitFor(async () => { expect((await onB(created.key)).statusCode).toBe(401) }, { timeout: 3000, interval: 25 })
    expect((await onB(rotated.key)).statusCode).toBe(200)
  })
})
