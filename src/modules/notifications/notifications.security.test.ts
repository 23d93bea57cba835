import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { relay } from '../../../test/helpers/realtime.ts'
import { addMember, makeProject } from '../../../test/helpers/work.ts'
import { notifications } from './table.ts'

let a: TestApp
let b: TestApp
beforeAll(async () => {
  a = await createTestApp()
  // A second node of the same deployment: its own app and relay on the same database.
  b = await createTestApp({ database: a.db })
})
afterAll(async () => {
  await b.close()
  await a.close()
})

describe('notifications access and delivery guarantees', () => {
  const routes = [
    ['GET', '/api/v1/notifications'],
    ['GET', '/api/v1/notifications/unread-count'],
    ['POST', '/api/v1/notifications/read-all'],
    ['GET', '/api/v1/notifications/preferences']
  ] as const

  it('AU-15: the inbox is a signed-in user\'s: anonymous is 401, an API key is refused (403)', async () => {
    const user = await makeUser(a.app)
    const created = await a.app.inject(as(user, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'k', scopes: [] } }))
    const key = (created.json() as { key: string }).key
    for (const [method, url] of routes) {
      expect((await a.app.inject({ method, url })).statusCode, `${method} ${url}`).toBe(401)
      const res = await a.app.inject({ method, url, headers: { 'x-api-key': key } })
      expect(res.statusCode, `${method} ${url}`).toBe(403)
      expect(res.headers['content-type']).toContain('application/problem+json')
    }
  })

  it('AZ-05: preferences refuse unknown fields, the always-on in_app channel and unknown types (400), changing nothing', async () => {
    const user = await makeUser(a.app)
    const put = (payload: Record<string, unknown>) => a.app.inject(as(user, { method: 'PUT', url: '/api/v1/notifications/preferences', payload }))
    for (const payload of [
      { items: [{ type: 'project.member_added', channels: { email: false } }], userId: user.id },
      { items: [{ type: 'project.member_added', channels: { email: false }, userId: user.id }] },
      { items: [{ type: 'project.member_added', channels: { in_app: false } }] },
      { items: [{ type: 'project.member_added', channels: { email: false } }, { type: 'no.such_type', channels: { email: false } }] },
      { items: [] }
    ]) {
      const res = await put(payload)
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
    }
    const prefs = (await a.app.inject(as(user, { method: 'GET', url: '/api/v1/notifications/preferences' }))).json() as { items: Array<{ type: string, channels: Record<string, boolean> }> }
    expect(prefs.items.find((p) => p.type === 'project.member_added')!.channels).toEqual({ in_app: true, email: true, push: false })
  })

  it('RL-05: an event relayed by two nodes at once makes each notification exactly once', async () => {
    const [owner, member] = await Promise.all([makeUser(a.app), makeUser(a.app)])
    for (let i = 0; i < 5; i++) await addMember(a.app, owner, await makeProject(a.app, owner, `Race ${i}`), member, 'viewer')
    await Promise.all([relay(a.app), relay(b.app), relay(a.app), relay(b.app)])
    const rows = await a.app.db.select().from(notifications).where(eq(notifications.userId, member.id))
    expect(rows).toHaveLength(5)
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(5)
    // Both nodes serve the same inbox.
    const page = (await b.app.inject(as(member, { method: 'GET', url: '/api/v1/notifications?limit=100' }))).json() as { items: unknown[] }
    expect(page.items).toHaveLength(5)
  })
})
