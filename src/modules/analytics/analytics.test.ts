import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { makeProject, makeTask, runNow } from '../../../test/helpers/work.ts'
import { figuresBetween } from './http-window.ts'

describe('admin analytics', () => {
  let t: TestApp
  let admin: TestUser
  let user: TestUser
  beforeAll(async () => {
    t = await createTestApp()
    admin = await makeUser(t.app, { roles: ['admin'] })
    user = await makeUser(t.app)
    const projectId = await makeProject(t.app, user)
    const task = await makeTask(t.app, user, projectId)
    await runNow(t.app, user, task.id)
  }, 60_000)
  afterAll(async () => { await t?.close() })

  const routes: Array<{ what: string, request: InjectOptions }> = [
    { what: 'overview', request: { method: 'GET', url: '/api/v1/admin/analytics/overview' } },
    { what: 'executions series', request: { method: 'GET', url: '/api/v1/admin/analytics/executions?days=7' } },
    { what: 'users series', request: { method: 'GET', url: '/api/v1/admin/analytics/users?days=7' } }
  ]

  it.each(routes)('AZ-04: $what: anonymous 401, user 403 (problem+json, no figures), admin 200', async ({ request }) => {
    expect((await t.app.inject(request)).statusCode).toBe(401)
    const denied = await t.app.inject(as(user, request))
    expect(denied.statusCode).toBe(403)
    expect(denied.headers['content-type']).toMatch(/problem\+json/)
    expect(denied.body).not.toMatch(/executions24h|signups|buckets/)
    expect((await t.app.inject(as(admin, request))).statusCode).toBe(200)
  })

  it('overview: this node, request figures, queue, agents, the last 24 h of runs by status, dependencies', async () => {
    const res = await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/overview' }))
    const body = res.json()
    expect(body.nodes).toHaveLength(1)
    expect(body.nodes[0]).toMatchObject({ ready: true })
    expect(body.executions24h).toMatchObject({ queued: 1, running: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0 })
    expect(body.http.requestsPerSecond).toBeGreaterThan(0)
    expect(body.http.errorRate).toBe(0)
    expect(body.queue).toEqual(expect.objectContaining({ depth: expect.any(Number), deadLetters: expect.any(Number) }))
    expect(body.agentsOnline).toBe(0)
    expect(body.dependencies.map((d: { name: string }) => d.name)).toContain('database')
    expect(body.dependencies.every((d: { state: string }) => d.state === 'ok')).toBe(true)
  })

  it('executions: hourly buckets for 1–2 days, daily beyond, counted in SQL', async () => {
    const hourly = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/executions?days=1' }))).json()
    expect(hourly.interval).toBe('hour')
    expect(hourly.buckets).toEqual([{ start: expect.stringMatching(/T\d\d:00:00\.000Z$/), status: 'queued', count: 1 }])
    const daily = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/executions?days=30' }))).json()
    expect(daily.interval).toBe('day')
    expect(daily.buckets).toEqual([{ start: expect.stringMatching(/T00:00:00\.000Z$/), status: 'queued', count: 1 }])
  })

  it('users: every day of the range, sign-ups and active users today', async () => {
    const body = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/users?days=7' }))).json()
    expect(body.days).toHaveLength(7)
    const today = new Date().toISOString().slice(0, 10)
    expect(body.days.at(-1)).toEqual({ day: today, signups: 2, activeUsers: 2 })
    expect(body.days.slice(0, -1).every((d: { signups: number }) => d.signups === 0)).toBe(true)
  })

  it('users: a user is active on each day they signed in or refreshed a session, not only the first and the last', async () => {
    // A session opened three days ago and refreshed two days ago and yesterday (each rotation is a
    // refresh_tokens row with its time); before #16's fix only its first and last-used days counted.
    const someone = await makeUser(t.app)
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000)
    await t.app.dbPool.query('UPDATE sessions SET created_at = $2, last_used_at = $3 WHERE id = $1', [someone.sessionId, ago(3), ago(1)])
    await t.app.dbPool.query('UPDATE refresh_tokens SET created_at = $2 WHERE session_id = $1', [someone.sessionId, ago(3)])
    for (const [i, days] of [2, 1].entries()) {
      await t.app.dbPool.query('INSERT INTO refresh_tokens (id, session_id, token_hash, created_at) VALUES (gen_random_uuid(), $1, $2, $3)', [someone.sessionId, `analytics-test-${i}-${someone.sessionId}`, ago(days)])
    }
    const body = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/users?days=5' }))).json()
    const day = (d: number) => ago(d).toISOString().slice(0, 10)
    const active = Object.fromEntries(body.days.map((d: { day: string, activeUsers: number }) => [d.day, d.activeUsers]))
    expect([active[day(4)], active[day(3)], active[day(2)], active[day(1)]]).toEqual([0, 1, 1, 1])
  })

  it('RC-01: ranges are bounded: days outside 1..90 or not a number is a 400', async () => {
    for (const days of ['0', '91', '-1', '1e9', 'week']) {
      const res = await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/admin/analytics/executions?days=${days}` }))
      expect(res.statusCode, days).toBe(400)
      expect(res.headers['content-type']).toMatch(/problem\+json/)
    }
  })

  it('answers are reused for a few seconds (a polling console costs one query per period)', async () => {
    const first = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/users?days=3' }))).json()
    await makeUser(t.app)
    const second = (await t.app.inject(as(admin, { method: 'GET', url: '/api/v1/admin/analytics/users?days=3' }))).json()
    expect(second).toEqual(first)
  })

  it('p99 is the bound of the bucket holding the 99th percentile request; errors are 5xx replies', () => {
    const before = { at: 0, count: 0, errors: 0, buckets: new Map([[0.01, 0], [0.1, 0], [Infinity, 0]]) }
    const after = { at: 10_000, count: 200, errors: 3, buckets: new Map([[0.01, 150], [0.1, 199], [Infinity, 200]]) }
    expect(figuresBetween(before, after)).toEqual({ requestsPerSecond: 20, errorRate: 0.015, p99Ms: 100, windowSeconds: 10 })
    expect(figuresBetween(after, after).p99Ms).toBeNull()
  })
})
