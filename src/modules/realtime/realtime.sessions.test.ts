import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRealtimeClient, type RealtimeState } from '../../../sdk/realtime.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, strongPassword, type TestUser } from '../../../test/helpers/auth.ts'
import { adminQuery } from '../../../test/helpers/services.ts'
import { listen, openSocket, type TestSocket } from '../../../test/helpers/realtime.ts'
import { makeProject, registerAgent } from '../../../test/helpers/work.ts'

// SECURITY.md decision 2, WS-03 and AU-09: when a session ends, its sockets close at once (on the
// revocation event, on every node), with a reason; the minute re-check catches what no event said.

let t: TestApp
let url: string
let admin: TestUser

const open = async (credentials: { token?: string, headers?: Record<string, string> }): Promise<TestSocket> => {
  const s = await openSocket(url, credentials)
  await s.next((m) => m.type === 'ready')
  return s
}

/** closedWithin waits for the close and says how long it took. */
async function closedWithin (s: TestSocket, started: number): Promise<{ code: number, reason: string, ms: number }> {
  const closed = await s.closed
  return { ...closed, ms: Date.now() - started }
}

beforeAll(async () => {
  t = await createTestApp()
  url = await listen(t.app)
  admin = await makeUser(t.app, { roles: ['admin'] })
})
afterAll(async () => { await t.close() })

describe('WS-03: session revocation closes sockets at once', () => {
  it('logout closes that session\'s sockets with 4003 and the reason, and no other session\'s', async () => {
    const user = await makeUser(t.app)
    const other = await login(t.app, user.email, user.password)
    const mine = await open({ token: user.accessToken })
    const theirs = await open({ token: other.accessToken })
    const started = Date.now()
    expect((await t.app.inject(as(user, { method: 'POST', url: '/api/v1/auth/logout' }))).statusCode).toBe(204)
    const closed = await closedWithin(mine, started)
    expect(closed).toMatchObject({ code: 4003, reason: 'session ended: logout' })
    // The relay publishes every 200 ms: "at once" is that, not the minute re-check.
    expect(closed.ms).toBeLessThan(5000)
    theirs.send({ type: 'ping' })
    await theirs.next((m) => m.type === 'pong')
    theirs.ws.close()
  })

  it('a password change closes the other sessions\' sockets and keeps the current one', async () => {
    const user = await makeUser(t.app)
    const other = await login(t.app, user.email, user.password)
    const current = await open({ token: user.accessToken })
    const stale = await open({ token: other.accessToken })
    const res = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/password', payload: { currentPassword: user.password, newPassword: strongPassword() } }))
    expect(res.statusCode, res.body).toBeLessThan(300)
    expect(await stale.closed).toMatchObject({ code: 4003, reason: 'session ended: password changed' })
    current.send({ type: 'ping' })
    await current.next((m) => m.type === 'pong')
    current.ws.close()
  })

  it('disabling a user closes all their sockets, and the sdk client stops instead of reconnecting', async () => {
    const user = await makeUser(t.app)
    const raw = await open({ token: user.accessToken })
    const states: Array<{ state: RealtimeState, code?: number, reason?: string }> = []
    const client = createRealtimeClient({ url, token: user.accessToken, WebSocket, backoff: { initialMs: 20 }, onStateChange: (state, d) => states.push({ state, code: d?.code, reason: d?.reason }) })
    await client.subscribe(`user:${user.id}`, () => {}).ready
    const res = await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, payload: { status: 'disabled' } }))
    expect(res.statusCode, res.body).toBe(200)
    expect(await raw.closed).toMatchObject({ code: 4003 })
    const started = Date.now()
    while (client.state !== 'closed' && Date.now() - started < 3000) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(client.state).toBe('closed')
    expect(states.at(-1)).toMatchObject({ state: 'closed', code: 4003 })
    expect(states.filter((s) => s.state === 'reconnecting')).toEqual([])
  })

  it('a role change closes the user\'s sockets', async () => {
    const user = await makeUser(t.app)
    const s = await open({ token: user.accessToken })
    const res = await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, payload: { roles: ['admin'] } }))
    expect(res.statusCode, res.body).toBe(200)
    expect([4001, 4003]).toContain((await s.closed).code)
  })

  it('revoking an API key or deleting an agent closes its sockets', async () => {
    const user = await makeUser(t.app)
    const created = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'rt', scopes: ['project:read'] } }))
    const key = created.json() as { id: string, key: string }
    const viaKey = await open({ headers: { 'x-api-key': key.key } })
    await t.app.inject(as(user, { method: 'DELETE', url: `/api/v1/api-keys/${key.id}` }))
    expect(await viaKey.closed).toMatchObject({ code: 4003 })
    const project = await makeProject(t.app, user)
    const agent = await registerAgent(t.app, user, { projectId: project })
    const viaAgent = await open({ headers: { 'x-api-key': agent.apiKey } })
    expect((await t.app.inject(as(user, { method: 'DELETE', url: `/api/v1/agents/${agent.id}` }))).statusCode).toBeLessThan(300)
    expect(await viaAgent.closed).toMatchObject({ code: 4003 })
  })
})

describe('WS-03: the periodic re-check', () => {
  it('closes a socket whose session ended without an event reaching this node', async () => {
    const user = await makeUser(t.app)
    const s = await open({ token: user.accessToken })
    // A revocation whose event was lost: only the database (and the cache entry) know.
    await adminQuery(t.db.url, "UPDATE sessions SET revoked_at = now(), revoked_reason = 'test' WHERE id = $1", [user.sessionId])
    await t.app.cache.delete({ key: `session:${user.sessionId}` })
    await t.app.realtime.recheck()
    expect(await s.closed).toEqual({ code: 4003, reason: 'session ended' })
  })

  it('keeps sockets whose credentials are still good', async () => {
    const user = await makeUser(t.app)
    const s = await open({ token: user.accessToken })
    await t.app.realtime.recheck()
    s.send({ type: 'ping' })
    await s.next((m) => m.type === 'pong')
    s.ws.close()
  })
})
