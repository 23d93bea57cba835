import { getTableName } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login, makeUser, strongPassword, uniqueEmail, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { adminQuery } from '../../../test/helpers/services.ts'

// Ending sessions takes effect at once (SECURITY.md decision 2; AU-09, AU-10, AZ-07): every
// request checks the session through the cache, and every revocation deletes the cache entry.

let t: TestApp
let admin: TestUser
beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  admin = await makeUser(t.app, { roles: ['admin'] })
})
afterAll(async () => { await t.close() })

interface Tokens { accessToken: string, refreshToken: string, sessionId: string }
const me = (user: { accessToken: string }) => t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me' }))
const refresh = (user: { refreshToken: string }) => t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: user.refreshToken } })
const post = (user: { accessToken: string }, url: string, payload?: object) => t.app.inject(as(user, { method: 'POST', url, payload }))

function expectDead (res: LightMyRequestResponse, code = 'AUTH_INVALID'): void {
  expect(res.statusCode, res.body).toBe(401)
  expect(res.json().code).toBe(code)
}

// Each session is first *used*, so its liveness sits in the cache: "at once" must beat the cache.
async function warm (...sessions: Tokens[]): Promise<void> {
  for (const s of sessions) expect((await me(s)).statusCode).toBe(200)
}

async function expectSessionDead (s: Tokens): Promise<void> {
  expectDead(await me(s))
  expectDead(await refresh(s), 'REFRESH_INVALID')
}

async function expectSessionAlive (s: Tokens): Promise<Tokens> {
  expect((await me(s)).statusCode).toBe(200)
  const res = await refresh(s)
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

describe('AU-09 logout', () => {
  it('ends this session only: its access and refresh tokens fail at once, other sessions work', async () => {
    const user = await makeUser(t.app)
    const other = await login(t.app, user.email, user.password)
    await warm(user, other)
    expect((await post(user, '/api/v1/auth/logout')).statusCode).toBe(204)
    await expectSessionDead(user)
    await expectSessionAlive(other)
  })

  it('logout-all ends every session of the user and no one else\'s', async () => {
    const user = await makeUser(t.app)
    const sessions = [user, await login(t.app, user.email, user.password), await login(t.app, user.email, user.password)]
    const bystander = await makeUser(t.app)
    await warm(...sessions, bystander)
    expect((await post(user, '/api/v1/auth/logout-all')).statusCode).toBe(204)
    for (const s of sessions) await expectSessionDead(s)
    await expectSessionAlive(bystander)
  })

  it('ending one session from the session list kills it at once; another user\'s session id is a 404', async () => {
    const user = await makeUser(t.app)
    const other = await login(t.app, user.email, user.password)
    const stranger = await makeUser(t.app)
    await warm(user, other, stranger)
    const list = await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me/sessions' }))
    expect(list.json().items.map((s: { id: string }) => s.id).sort()).toEqual([user.sessionId, other.sessionId].sort())
    const foreign = await t.app.inject(as(user, { method: 'DELETE', url: `/api/v1/users/me/sessions/${stranger.sessionId}` }))
    const missing = await t.app.inject(as(user, { method: 'DELETE', url: '/api/v1/users/me/sessions/00000000-0000-7000-8000-000000000000' }))
    expect(foreign.statusCode).toBe(404)
    expect({ ...foreign.json(), requestId: 0, instance: 0 }).toEqual({ ...missing.json(), requestId: 0, instance: 0 })
    await expectSessionAlive(stranger)
    expect((await t.app.inject(as(user, { method: 'DELETE', url: `/api/v1/users/me/sessions/${other.sessionId}` }))).statusCode).toBe(204)
    await expectSessionDead(other)
    await expectSessionAlive(user)
  })
})

describe('AU-10 password change needs the current password', () => {
  it('refuses a stolen access token without the right current password (403) and changes nothing', async () => {
    const user = await makeUser(t.app)
    const wrong = await post(user, '/api/v1/users/me/password', { currentPassword: 'not-the-password-1', newPassword: strongPassword() })
    expect(wrong.statusCode).toBe(403)
    expect(wrong.json()).toMatchObject({ code: 'CURRENT_PASSWORD_WRONG', status: 403 })
    await login(t.app, user.email, user.password)
  })

  it('with it: 204, every other session dies at once, this one keeps working, the new password signs in', async () => {
    const user = await makeUser(t.app)
    const others = [await login(t.app, user.email, user.password), await login(t.app, user.email, user.password)]
    await warm(user, ...others)
    const newPassword = strongPassword()
    const res = await post(user, '/api/v1/users/me/password', { currentPassword: user.password, newPassword })
    expect(res.statusCode, res.body).toBe(204)
    for (const s of others) await expectSessionDead(s)
    await expectSessionAlive(user)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: user.password } })).statusCode).toBe(401)
    await login(t.app, user.email, newPassword)
  })

  it('applies the password policy to the new password, email included', async () => {
    const user = await makeUser(t.app)
    const local = user.email.split('@')[0]!
    const res = await post(user, '/api/v1/users/me/password', { currentPassword: user.password, newPassword: `${local}-Zq9!` })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('WEAK_PASSWORD')
  })
})

describe('AU-09 password reset through the mailed link', () => {
  async function resetLink (email: string): Promise<string> {
    const before = t.mail.filter((m) => m.to === email && m.subject === 'Reset your password').length
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email } })).statusCode).toBe(202)
    return vi.waitFor(() => {
      const mails = t.mail.filter((m) => m.to === email && m.subject === 'Reset your password')
      if (mails.length === before) throw new Error('no reset mail yet')
      return /token=([A-Za-z0-9_-]+)/.exec(mails.at(-1)!.text)![1]!
    })
  }
  const reset = (token: string, password: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/reset-password', payload: { token, password } })

  it('ends every session at once; the token works once', async () => {
    const user = await makeUser(t.app)
    const second = await login(t.app, user.email, user.password)
    await warm(user, second)
    const token = await resetLink(user.email)
    const password = strongPassword()
    expect((await reset(token, password)).statusCode).toBe(204)
    await expectSessionDead(user)
    await expectSessionDead(second)
    await login(t.app, user.email, password)
    const again = await reset(token, strongPassword())
    expect(again.statusCode).toBe(400)
    expect(again.json().code).toBe('TOKEN_INVALID')
    await login(t.app, user.email, password)
  })

  it('refuses an expired token', async () => {
    const user = await makeUser(t.app)
    const token = await resetLink(user.email)
    await adminQuery(t.db.url, "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE email = $1 AND purpose = 'reset_password' AND used_at IS NULL", [user.email])
    const res = await reset(token, strongPassword())
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('TOKEN_INVALID')
    await expectSessionAlive(user)
  })

  it('makes older reset links stop working when a new one is sent', async () => {
    const user = await makeUser(t.app)
    const first = await resetLink(user.email)
    const second = await resetLink(user.email)
    expect((await reset(first, strongPassword())).statusCode).toBe(400)
    expect((await reset(second, strongPassword())).statusCode).toBe(204)
  })

  it('makes an older link of any kind stop working: an account-exists notice after a forgot-password link, and the other way round', async () => {
    const user = await makeUser(t.app)
    const register = async () => {
      const before = t.mail.filter((m) => m.to === user.email).length
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: user.email, password: strongPassword() } })).statusCode).toBe(202)
      return vi.waitFor(() => {
        const mails = t.mail.filter((m) => m.to === user.email)
        if (mails.length === before) throw new Error('no notice yet')
        return /token=([A-Za-z0-9_-]+)/.exec(mails.at(-1)!.text)![1]!
      })
    }
    const forgot = await resetLink(user.email)
    const notice = await register()
    expect((await reset(forgot, strongPassword())).statusCode).toBe(400)
    const later = await resetLink(user.email)
    expect((await reset(notice, strongPassword())).statusCode).toBe(400)
    expect((await reset(later, strongPassword())).statusCode).toBe(204)
  })

  it('refuses a link once its account moved to another address, or was disabled', async () => {
    const moved = await makeUser(t.app)
    const link = await resetLink(moved.email)
    await adminQuery(t.db.url, 'UPDATE users SET email = $1 WHERE id = $2', [uniqueEmail('moved'), moved.id])
    expect((await reset(link, strongPassword())).json().code).toBe('TOKEN_INVALID')
    await expectSessionAlive(moved)

    const disabled = await makeUser(t.app)
    const second = await resetLink(disabled.email)
    await adminQuery(t.db.url, "UPDATE users SET status = 'disabled' WHERE id = $1", [disabled.id])
    expect((await reset(second, strongPassword())).json().code).toBe('TOKEN_INVALID')
  })
})

describe('AZ-07 admin actions take effect at once', () => {
  const patch = (id: string, payload: object) => t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${id}`, payload }))

  it('disabling a user kills their access and refresh tokens at once; sign-in then fails generically', async () => {
    const user = await makeUser(t.app)
    await warm(user)
    expect((await patch(user.id, { status: 'disabled' })).statusCode).toBe(200)
    await expectSessionDead(user)
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: user.password } })
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('LOGIN_FAILED')
  })

  it('demoting an admin takes their admin access away at once', async () => {
    const other = await makeUser(t.app, { roles: ['admin'] })
    const list = (u: { accessToken: string }) => t.app.inject(as(u, { method: 'GET', url: '/api/v1/admin/users' }))
    expect((await list(other)).statusCode).toBe(200)
    expect((await patch(other.id, { roles: ['user'] })).statusCode).toBe(200)
    expect([401, 403]).toContain((await list(other)).statusCode)
    expectDead(await refresh(other), 'REFRESH_INVALID')
    const again = await login(t.app, other.email, other.password)
    expect((await list(again)).statusCode).toBe(403)
  })

  it('soft delete kills the tokens at once and frees the email for a new account', async () => {
    const user = await makeUser(t.app)
    await warm(user)
    const del = await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/users/${user.id}` }))
    expect(del.statusCode).toBe(200)
    await expectSessionDead(user)
    const password = strongPassword()
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: user.email, password } })).statusCode).toBe(202)
    const fresh = await login(t.app, user.email, password)
    const profile = (await me(fresh)).json()
    expect(profile.id).not.toBe(user.id)
    expect(profile.email).toBe(user.email)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: user.password } })).statusCode).toBe(401)
  })
})

describe('revocation racing a session read', () => {
  it('does not let a session read that started before a revocation cache the session as live', async () => {
    const user = await makeUser(t.app)
    const second = await login(t.app, user.email, user.password)
    await warm(second)
    // The first session's next check reads the database slowly, and logout-all from the second
    // session lands in the middle of that read.
    const db = t.app.db
    const original = db.select.bind(db)
    let delayed = 0
    const spy = vi.spyOn(db, 'select').mockImplementation(((...args: Parameters<typeof db.select>) => {
      const builder = original(...args)
      const from = builder.from.bind(builder)
      builder.from = ((table: Parameters<typeof from>[0]) => {
        const query = from(table)
        if (getTableName(table as Parameters<typeof getTableName>[0]) === 'sessions' && delayed++ === 0) {
          const execute = query.execute.bind(query)
          query.execute = (async (...a: Parameters<typeof execute>) => {
            const rows = await execute(...a)
            await new Promise((resolve) => setTimeout(resolve, 400))
            return rows
          }) as typeof query.execute
        }
        return query
      }) as typeof builder.from
      return builder
    }) as typeof db.select)
    try {
      const slow = me(user)
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect((await post(second, '/api/v1/auth/logout-all')).statusCode).toBe(204)
      await slow
    } finally { spy.mockRestore() }
    expect(delayed).toBeGreaterThan(0)
    expectDead(await me(user))
    expectDead(await me(second))
  })
})
