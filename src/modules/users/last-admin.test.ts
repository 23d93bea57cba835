import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'

// An admin can never lock everyone out: not by demoting, disabling or deleting the last active
// admin, and not by two admins removing each other at the same moment.

let t: TestApp
let manager: TestUser
beforeAll(async () => {
  t = await createTestApp({ env: { AUTH_ROLES: '{"manager":["user:read","user:manage"]}' } })
  manager = await makeUser(t.app, { roles: ['manager'] })
})
afterAll(async () => { await t.close() })

const patch = (who: TestUser, id: string, payload: Record<string, unknown>) =>
  t.app.inject(as(who, { method: 'PATCH', url: `/api/v1/admin/users/${id}`, payload }))
const activeAdmins = () => t.app.users.countActiveAdmins()

describe('the last active admin', () => {
  it('survives two admins demoting (or disabling) each other at once: one wins, one admin is left', async () => {
    let survivor = await makeUser(t.app, { roles: ['admin'] })
    for (let round = 0; round < 4; round++) {
      const other = await makeUser(t.app, { roles: ['admin'] })
      expect(await activeAdmins()).toBe(2)
      const change = round % 2 === 0 ? { roles: ['user'] } : { status: 'disabled' }
      const [a, b] = await Promise.all([patch(survivor, other.id, change), patch(other, survivor.id, change)])
      const codes = [a.statusCode, b.statusCode].sort()
      // The loser gets 409 LAST_ADMIN, or 401/403 when the winner's change already ended its session or rights.
      expect(codes[0]).toBe(200)
      expect([401, 403, 409], `${a.body} ${b.body}`).toContain(codes[1])
      expect(await activeAdmins()).toBe(1)
      survivor = a.statusCode === 200 ? survivor : other
    }
  })

  it('cannot be demoted, disabled or deleted by a non-admin manager; a second admin makes it possible', async () => {
    const admins = await t.app.users.list({ role: 'admin', status: 'active', limit: 10 })
    expect(admins.items).toHaveLength(1)
    const last = admins.items[0]!
    expect((await patch(manager, last.id, { roles: ['user'] })).json()).toMatchObject({ status: 409, code: 'LAST_ADMIN' })
    expect((await patch(manager, last.id, { status: 'disabled' })).json()).toMatchObject({ status: 409, code: 'LAST_ADMIN' })
    const del = await t.app.inject(as(manager, { method: 'DELETE', url: `/api/v1/admin/users/${last.id}` }))
    expect(del.json()).toMatchObject({ status: 409, code: 'LAST_ADMIN' })
    expect((await t.app.users.get(last.id)).status).toBe('active')

    await makeUser(t.app, { roles: ['admin'] })
    expect((await t.app.inject(as(manager, { method: 'DELETE', url: `/api/v1/admin/users/${last.id}` }))).statusCode).toBe(200)
    expect(await activeAdmins()).toBe(1)
  })

  it('cannot demote, disable or delete itself', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    expect((await patch(admin, admin.id, { roles: ['user'] })).json()).toMatchObject({ status: 409, code: 'CANNOT_CHANGE_SELF' })
    expect((await patch(admin, admin.id, { status: 'disabled' })).json()).toMatchObject({ status: 409, code: 'CANNOT_CHANGE_SELF' })
    const del = await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/users/${admin.id}` }))
    expect(del.json()).toMatchObject({ status: 409, code: 'CANNOT_CHANGE_SELF' })
  })
})
