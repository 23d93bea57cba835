import { describe, expect, it } from 'vitest'
import { ConfigError } from '../config.ts'
import { createTestApp, testConfig } from '../../test/helpers/app.ts'
import { as, makeUser } from '../../test/helpers/auth.ts'

describe('custom roles from AUTH_ROLES', () => {
  it('grant exactly the permissions they list', async () => {
    const t = await createTestApp({ env: { AUTH_ROLES: '{"support":["user:read","audit:read"]}' } })
    try {
      const admin = await makeUser(t.app, { roles: ['admin'] })
      const agent = await makeUser(t.app)
      const given = await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${agent.id}`, payload: { roles: ['support'] } }))
      expect(given.statusCode).toBe(200)
      // A role change ends the sessions: sign in again to act with the new role.
      const { login } = await import('../../test/helpers/auth.ts')
      const fresh = await login(t.app, agent.email, agent.password)
      expect((await t.app.inject(as(fresh, { method: 'GET', url: '/api/v1/admin/users' }))).statusCode).toBe(200)
      expect((await t.app.inject(as(fresh, { method: 'GET', url: '/api/v1/admin/audit' }))).statusCode).toBe(200)
      expect((await t.app.inject(as(fresh, { method: 'PATCH', url: `/api/v1/admin/users/${admin.id}`, payload: { name: 'x' } }))).statusCode).toBe(403)
      const unknown = await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${agent.id}`, payload: { roles: ['nobody'] } }))
      expect(unknown.statusCode).toBe(400)
      expect(unknown.json().code).toBe('UNKNOWN_ROLE')
    } finally {
      await t.close()
    }
  })

  it('refuse to start when a role names an unknown permission, redefines a built-in role, or is not JSON', async () => {
    await expect(createTestApp({ env: { AUTH_ROLES: '{"support":["user:fly"]}' } })).rejects.toThrow(/unknown permissions user:fly/)
    await expect(createTestApp({ env: { AUTH_ROLES: '{"admin":["user:read"]}' } })).rejects.toThrow(/built-in role/)
    expect(() => testConfig({ AUTH_ROLES: '{support' })).toThrow(ConfigError)
    expect(() => testConfig({ AUTH_ROLES: '{"Bad Name":["user:read"]}' })).toThrow(/lowercase/)
  })
})
