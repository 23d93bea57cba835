import { randomUUID } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { jobPrefix, waitFor } from '../../../test/helpers/queue.ts'

describe('admin: job queue', () => {
  let t: TestApp
  let admin: TestUser
  let user: TestUser
  const prefix = jobPrefix()
  const failing = `${prefix}.failing`
  let healthy = false
  const done: unknown[] = []

  beforeAll(async () => {
    t = await createTestApp()
    admin = await makeUser(t.app, { roles: ['admin'] })
    user = await makeUser(t.app)
    t.app.queue.define(failing, async (job) => {
      if (!healthy) throw new Error('smtp said no')
      done.push(job.data)
    }, { retryLimit: 0 })
    await t.app.queue.start()
  })
  afterAll(async () => { await t?.close() })

  const routes: Array<{ what: string, request: () => InjectOptions, allowed: number }> = [
    { what: 'queue stats', request: () => ({ method: 'GET', url: '/api/v1/admin/queue' }), allowed: 200 },
    { what: 'dead letters', request: () => ({ method: 'GET', url: `/api/v1/admin/queue/${failing}/dead-letters` }), allowed: 200 },
    { what: 'dead letter retry', request: () => ({ method: 'POST', url: `/api/v1/admin/queue/${failing}/dead-letters/${randomUUID()}/retry` }), allowed: 404 }
  ]

  it.each(routes)('$what: anonymous 401, user 403, admin allowed', async ({ request, allowed }) => {
    expect((await t.app.inject(request())).statusCode).toBe(401)
    const denied = await t.app.inject(as(user, request()))
    expect(denied.statusCode).toBe(403)
    expect(denied.headers['content-type']).toMatch(/problem\+json/)
    expect((await t.app.inject(as(admin, request()))).statusCode).toBe(allowed)
  })

  it('shows the adapter and each job name\'s depths', async () => {
    const waiting = `${prefix}.waiting`
    await t.app.queue.send(waiting, { n: 1 })
    const res = await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/queue' }))
    expect(res.statusCode).toBe(200)
    const body = res.json() as { adapter: string, queues: Array<Record<string, unknown>> }
    expect(body.adapter).toBe('pg-boss')
    expect(body.queues).toContainEqual({ name: waiting, queued: 1, active: 0, failed: 0, deadLetters: 0 })
    expect(body.queues).toContainEqual(expect.objectContaining({ name: failing }))
    expect(body.queues.some((q) => String(q.name).endsWith('.dead'))).toBe(false)
  })

  it('lists a dead letter with its error and retries it once; the retry is audited', async () => {
    await t.app.queue.send(failing, { to: 'ada@example.test' })
    const list = await waitFor(async () => (await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/queue/${failing}/dead-letters?limit=5` }))).json() as { items: Array<{ id: string }>, nextCursor: null },
      (b) => b.items.length === 1)
    expect(list).toEqual({ items: [{ id: expect.any(String), name: failing, data: { to: 'ada@example.test' }, error: 'smtp said no', failedAt: expect.any(String) }], nextCursor: null })

    healthy = true
    const id = list.items[0]!.id
    const retry = await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/admin/queue/${failing}/dead-letters/${id}/retry` }))
    expect(retry.statusCode).toBe(204)
    await waitFor(() => done.length, (n) => n === 1)
    expect(done).toEqual([{ to: 'ada@example.test' }])
    await expectAudit(t, { action: 'queue.dead_letter_retried', outcome: 'success', actorId: admin.id, targetId: id })

    const again = await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/admin/queue/${failing}/dead-letters/${id}/retry` }))
    expect(again.statusCode).toBe(404)
    expect(again.json()).toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' })
    const empty = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/queue/${failing}/dead-letters` }))
    expect(empty.json()).toEqual({ items: [], nextCursor: null })
  })

  it('validates names, ids and limits', async () => {
    const bad = [
      { method: 'GET' as const, url: '/api/v1/admin/queue/bad%20name/dead-letters' },
      { method: 'GET' as const, url: `/api/v1/admin/queue/${failing}/dead-letters?limit=101` },
      { method: 'POST' as const, url: `/api/v1/admin/queue/${failing}/dead-letters/not-a-uuid/retry` }
    ]
    for (const request of bad) expect((await t.app.inject(as(admin, request))).statusCode).toBe(400)
    // A valid name nobody uses has no dead letters; a retry there is a 404.
    const unknown = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/queue/${prefix}.nobody/dead-letters` }))
    expect(unknown.json()).toEqual({ items: [], nextCursor: null })
    expect((await t.app.inject(as(admin, { method: 'POST', url: `/api/v1/admin/queue/${prefix}.nobody/dead-letters/${randomUUID()}/retry` }))).statusCode).toBe(404)
  })
})
