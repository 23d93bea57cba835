import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SecurityEvent } from '../../platform/security-events.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { adminQuery } from '../../../test/helpers/services.ts'

// Refresh-token rotation (SECURITY.md decision 3, AU-06…AU-08). Time is moved by rewriting the
// stored timestamps over SQL, so the app's own clock and caches are not faked.

let t: TestApp
const events: SecurityEvent[] = []
beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  t.app.securityEvents.on((e) => { events.push(e) })
})
afterAll(async () => { await t.close() })

interface Pair { accessToken: string, refreshToken: string, sessionId: string }
const sql = (text: string, params: unknown[] = []) => adminQuery(t.db.url, text, params)
const refresh = (refreshToken: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } })
const me = (user: { accessToken: string }) => t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me' }))

function expectRefused (res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(401)
  expect(res.json()).toMatchObject({ status: 401, code: 'REFRESH_INVALID', detail: 'The refresh token is invalid or expired; sign in again' })
}

async function sessionRow (id: string) {
  const { rows } = await sql('SELECT revoked_at, revoked_reason, last_used_at FROM sessions WHERE id = $1', [id])
  return rows[0] as { revoked_at: Date | null, revoked_reason: string | null, last_used_at: Date }
}

async function rotate (token: string): Promise<Pair> {
  const res = await refresh(token)
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

describe('AU-06 reuse of a rotated refresh token', () => {
  let user: TestUser
  let r2: Pair
  beforeAll(async () => {
    user = await makeUser(t.app)
    r2 = await rotate(user.refreshToken)
  })

  it('rotates R1 into a new R2 in the same session', () => {
    expect(r2.refreshToken).not.toBe(user.refreshToken)
    expect(r2.sessionId).toBe(user.sessionId)
  })

  it('answers R1 again within the 10 s grace window with exactly R2 (a second tab), not a new token', async () => {
    const again = await rotate(user.refreshToken)
    expect(again.refreshToken).toBe(r2.refreshToken)
    expect(again.sessionId).toBe(user.sessionId)
    const { rows } = await sql('SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = $1', [user.sessionId])
    expect(rows[0].n).toBe(2)
  })

  it('treats R1 after the window as theft: 401, session revoked and committed, R2 and the access token dead at once, audited', async () => {
    expect((await me(r2)).statusCode).toBe(200)
    // 11 s after the rotation: outside the grace window.
    await sql("UPDATE refresh_tokens SET rotated_at = now() - interval '11 seconds' WHERE rotated_at IS NOT NULL AND session_id = $1", [user.sessionId])
    const before = events.length
    expectRefused(await refresh(user.refreshToken))

    const row = await sessionRow(user.sessionId)
    expect(row.revoked_at).toBeInstanceOf(Date)
    expect(row.revoked_reason).toBe('refresh token reused')
    expectRefused(await refresh(r2.refreshToken))
    const res = await me(r2)
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('AUTH_INVALID')
    expect((await me(user)).statusCode).toBe(401)

    const reuse = events.slice(before).filter((e) => e.action === 'auth.refresh_reuse_detected')
    expect(reuse).toHaveLength(1)
    expect(reuse[0]).toMatchObject({ outcome: 'failure', actorId: user.id, targetType: 'session', targetId: user.sessionId })
    expect(JSON.stringify(reuse[0])).not.toContain(user.refreshToken)
  })

  it('leaves the user\'s other sessions alone', async () => {
    const second = await login(t.app, user.email, user.password)
    expect((await me(second)).statusCode).toBe(200)
    await rotate(second.refreshToken)
  })

  it('treats reuse of R1 after R2 was itself rotated as theft, even inside the grace window', async () => {
    const u = await makeUser(t.app)
    const a = await rotate(u.refreshToken)
    await rotate(a.refreshToken)
    expectRefused(await refresh(u.refreshToken))
    expect((await sessionRow(u.sessionId)).revoked_at).toBeInstanceOf(Date)
  })

  it('refuses unknown, empty-ish and oversized refresh tokens the same way', async () => {
    expectRefused(await refresh('x'))
    expectRefused(await refresh('A'.repeat(43)))
    expectRefused(await refresh('A'.repeat(8000)))
  })
})

describe('AU-07 twenty parallel refreshes of one token', () => {
  it('all succeed with the same child and leave one live token in the family', async () => {
    const user = await makeUser(t.app)
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(user.refreshToken)))
    for (const res of results) expect(res.statusCode, res.body).toBe(200)
    const children = new Set(results.map((r) => r.json().refreshToken))
    expect(children.size).toBe(1)
    const [child] = [...children]
    expect(child).not.toBe(user.refreshToken)
    // SQL invariant: at most one un-rotated token per session, here and in the whole database.
    const { rows } = await sql('SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = $1', [user.sessionId])
    expect(rows[0].n).toBe(2)
    const { rows: bad } = await sql('SELECT session_id FROM refresh_tokens WHERE rotated_at IS NULL GROUP BY session_id HAVING count(*) > 1')
    expect(bad).toEqual([])
    // Every access token handed out works and the child keeps rotating normally.
    for (const res of results.slice(0, 3)) expect((await me(res.json())).statusCode).toBe(200)
    await rotate(child!)
  })

  it('keeps the invariant when parallel refreshes race a reuse of an old token', async () => {
    const user = await makeUser(t.app)
    const r2 = await rotate(user.refreshToken)
    await sql("UPDATE refresh_tokens SET rotated_at = now() - interval '11 seconds' WHERE rotated_at IS NOT NULL AND session_id = $1", [user.sessionId])
    const results = await Promise.all([...Array.from({ length: 10 }, () => refresh(r2.refreshToken)), refresh(user.refreshToken)])
    // Whatever the order, the stolen-token replay ends the family: afterwards nothing refreshes.
    expect(results.at(-1)!.statusCode).toBe(401)
    expect((await sessionRow(user.sessionId)).revoked_at).toBeInstanceOf(Date)
    for (const res of results) {
      if (res.statusCode === 200) expectRefused(await refresh(res.json().refreshToken))
    }
    const { rows: bad } = await sql('SELECT session_id FROM refresh_tokens WHERE rotated_at IS NULL GROUP BY session_id HAVING count(*) > 1')
    expect(bad).toEqual([])
  })
})

describe('AU-08 idle and absolute lifetimes', () => {
  it('refuses a refresh after 8 idle days (limit 7) and marks the session ended', async () => {
    const user = await makeUser(t.app)
    await sql("UPDATE sessions SET last_used_at = now() - interval '8 days' WHERE id = $1", [user.sessionId])
    expectRefused(await refresh(user.refreshToken))
    const row = await sessionRow(user.sessionId)
    expect(row.revoked_at).toBeInstanceOf(Date)
    expect(row.revoked_reason).toBe('expired')
  })

  it('still refreshes after 6 idle days, and the refresh counts as use', async () => {
    const user = await makeUser(t.app)
    await sql("UPDATE sessions SET last_used_at = now() - interval '6 days' WHERE id = $1", [user.sessionId])
    await rotate(user.refreshToken)
    const row = await sessionRow(user.sessionId)
    expect(Date.now() - row.last_used_at.getTime()).toBeLessThan(60_000)
  })

  it('refuses a refresh past the absolute lifetime however active the session, and marks it ended', async () => {
    const user = await makeUser(t.app)
    const r2 = await rotate(user.refreshToken)
    await sql("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [user.sessionId])
    expectRefused(await refresh(r2.refreshToken))
    const row = await sessionRow(user.sessionId)
    expect(row.revoked_at).toBeInstanceOf(Date)
    expect(row.revoked_reason).toBe('expired')
    // The revocation was committed: the next attempt meets a revoked session, not an expired one.
    expectRefused(await refresh(r2.refreshToken))
  })

  it('sets the absolute lifetime to 30 days from sign-in', async () => {
    const user = await makeUser(t.app)
    const { rows } = await sql('SELECT extract(epoch FROM expires_at - created_at)::int AS s FROM sessions WHERE id = $1', [user.sessionId])
    expect(Math.abs(rows[0].s - 30 * 86_400)).toBeLessThan(5)
  })
})
