import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'

// SECURITY.md AZ-08: a token issued to frontend A is refused with frontend B's key or from B's pages.
const A_ORIGIN = 'https://a.example.test'
const B_ORIGIN = 'https://b.example.test'

let t: TestApp
let admin: TestUser
let person: TestUser
let a: { id: string, key: string }
let b: { id: string, key: string }
beforeAll(async () => {
  t = await createTestApp({ env: { CORS_ORIGINS: 'https://dashboard.example.test' } })
  admin = await makeUser(t.app, { roles: ['admin'] })
  person = await makeUser(t.app)
  const register = async (name: string, origins: string[]) => {
    const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name, origins } }))
    expect(res.statusCode, res.body).toBe(201)
    return { id: res.json().frontend.id as string, key: res.json().apiKey as string }
  }
  a = await register('web-a', [A_ORIGIN])
  b = await register('web-b', [B_ORIGIN])
})
afterAll(async () => { await t.close() })

async function loginThrough (key: string | undefined, headers: Record<string, string> = {}): Promise<{ accessToken: string, refreshToken: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { ...(key ? { 'x-frontend-key': key } : {}), ...headers }, payload: { email: person.email, password: person.password } })
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

const me = (token: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${token}`, ...headers } })

describe('tokens issued through a frontend (AZ-08)', () => {
  it('name the frontend as their audience', async () => {
    const { accessToken } = await loginThrough(a.key, { origin: A_ORIGIN })
    expect(decodeJwt(accessToken).aud).toBe('frontend:web-a')
    expect(decodeJwt(person.accessToken).aud).toBe('backplane')
  })

  it('work with their frontend\'s key, from its origin, and from servers and native apps (no Origin)', async () => {
    const { accessToken } = await loginThrough(a.key)
    expect((await me(accessToken, { 'x-frontend-key': a.key })).statusCode).toBe(200)
    expect((await me(accessToken, { 'x-frontend-key': a.key, origin: A_ORIGIN })).statusCode).toBe(200)
    expect((await me(accessToken, { origin: A_ORIGIN })).statusCode).toBe(200)
    expect((await me(accessToken)).statusCode).toBe(200)
  })

  it('are refused (401) with another frontend\'s key or from another frontend\'s origin', async () => {
    const { accessToken } = await loginThrough(a.key)
    const withB = await me(accessToken, { 'x-frontend-key': b.key })
    expect(withB.statusCode).toBe(401)
    expect(withB.json().code).toBe('AUTH_INVALID')
    expect((await me(accessToken, { 'x-frontend-key': b.key, origin: B_ORIGIN })).statusCode).toBe(401)
    expect((await me(accessToken, { origin: B_ORIGIN })).statusCode).toBe(401)
    // A page that is no registered frontend (here the configured dashboard) cannot use A's token either.
    expect((await me(accessToken, { origin: 'https://dashboard.example.test' })).statusCode).toBe(401)
  })

  it('keep their audience through refresh', async () => {
    const { refreshToken } = await loginThrough(a.key)
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } })
    expect(res.statusCode).toBe(200)
    const next = res.json().accessToken as string
    expect(decodeJwt(next).aud).toBe('frontend:web-a')
    expect((await me(next, { 'x-frontend-key': b.key })).statusCode).toBe(401)
  })

  it('stop working when their frontend is disabled', async () => {
    const c = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: 'web-c' } }))
    const { accessToken } = await loginThrough(c.json().apiKey)
    expect((await me(accessToken)).statusCode).toBe(200)
    await t.app.inject(as(admin, { method: 'PATCH', url: `/api/v1/admin/frontends/${c.json().frontend.id}`, payload: { enabled: false } }))
    expect((await me(accessToken)).statusCode).toBe(401)
  })

  it('tokens issued without a frontend keep working, with or without a frontend key', async () => {
    expect((await me(person.accessToken)).statusCode).toBe(200)
    expect((await me(person.accessToken, { 'x-frontend-key': a.key })).statusCode).toBe(200)
    expect((await me(person.accessToken, { 'x-frontend-key': b.key, origin: B_ORIGIN })).statusCode).toBe(200)
  })

  it('a frontend key beside a user\'s own API key is not ambiguous: the API key acts, the frontend is attributed', async () => {
    const created = await t.app.inject(as(person, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'k', scopes: [] } }))
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { 'x-api-key': created.json().key, 'x-frontend-key': a.key } })
    // users/me is for signed-in users, not API keys: the 403 shows the API key was the credential.
    expect(res.statusCode).toBe(403)
  })
})
