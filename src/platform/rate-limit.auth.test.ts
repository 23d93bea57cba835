import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser, strongPassword, uniqueEmail } from '../../test/helpers/auth.ts'
import { hashPassword } from '../modules/auth/passwords.ts'
import type { SecurityEvent } from './security-events.ts'

// Each test sends from addresses of its own, so the buckets of one test never touch another's.
let last = 0
function freshIp (): string {
  last++
  return `192.0.${Math.floor(last / 250)}.${(last % 250) + 1}`
}

const login = (remoteAddress: string, email: string, password: string, headers: Record<string, string> = {}) =>
  ({ method: 'POST' as const, url: '/api/v1/auth/login', remoteAddress, headers, payload: { email, password } })

/** withoutRequestId is a problem body minus the one field that differs per request. */
function withoutRequestId (res: LightMyRequestResponse): Record<string, unknown> {
  const { requestId, ...rest } = res.json()
  expect(requestId).toEqual(expect.any(String))
  return rest
}

/** createAccount makes an active account directly (no sign-in, so no auth-tier request). */
async function createAccount (t: TestApp, passwordHash?: string) {
  const email = uniqueEmail('rl')
  const password = strongPassword()
  await t.app.users.create({ email, passwordHash: passwordHash ?? await hashPassword(password), roles: ['user'], emailVerified: true })
  return { email, password }
}

describe('the sign-in flows budget (decision 5, RC-07)', () => {
  let t: TestApp
  const events: SecurityEvent[] = []
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '3', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5' } })
    t.app.securityEvents.on((e) => { events.push(e) })
  })
  afterAll(async () => { await t.close() })

  it('refuses the 4th login from one IP even with the right password; other routes from that IP still work', async () => {
    const { email, password } = await createAccount(t)
    const ip = freshIp()
    for (let i = 0; i < 3; i++) expect((await t.app.inject(login(ip, email, password))).statusCode).toBe(200)
    const limited = await t.app.inject(login(ip, email, password))
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' })
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.headers['ratelimit-limit']).toBe('3')
    expect(limited.headers['ratelimit-remaining']).toBe('0')
    // The general budget is separate, and another IP may sign in.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/instance', remoteAddress: ip })).statusCode).toBe(200)
    expect((await t.app.inject(login(freshIp(), email, password))).statusCode).toBe(200)
  })

  it('reports the trip as one security event per IP and window, not one per refused request', async () => {
    const { email } = await createAccount(t)
    const ip = freshIp()
    for (let i = 0; i < 10; i++) await t.app.inject(login(ip, email, 'Wrong-password-123'))
    const trips = events.filter((e) => e.action === 'rate_limit.exceeded' && e.ip === ip)
    expect(trips).toHaveLength(1)
    expect(trips[0]).toMatchObject({ outcome: 'denied', actorType: 'anonymous', details: { tier: 'auth' }, requestId: expect.any(String) })
    expect(JSON.stringify(trips[0])).not.toContain('Wrong-password')
  })

  it('stops password spraying: 1 password × 50 accounts from one IP gets 3 tries', async () => {
    const hash = await hashPassword(strongPassword())
    const accounts = await Promise.all(Array.from({ length: 50 }, () => createAccount(t, hash)))
    const ip = freshIp()
    const codes: number[] = []
    for (const { email } of accounts) codes.push((await t.app.inject(login(ip, email, 'Summer2026-password!'))).statusCode)
    expect(codes.slice(0, 3)).toEqual([401, 401, 401])
    expect(codes.slice(3).every((c) => c === 429)).toBe(true)
  })

  it('puts register, refresh, forgot and reset password in the same per-IP budget', async () => {
    const { email } = await createAccount(t)
    const ip = freshIp()
    const flows = [
      { method: 'POST' as const, url: '/api/v1/auth/register', payload: { email: uniqueEmail(), password: strongPassword() } },
      { method: 'POST' as const, url: '/api/v1/auth/refresh', payload: { refreshToken: 'x'.repeat(43) } },
      { method: 'POST' as const, url: '/api/v1/auth/forgot-password', payload: { email } },
      { method: 'POST' as const, url: '/api/v1/auth/reset-password', payload: { token: 'x'.repeat(43), password: strongPassword() } }
    ]
    const codes: number[] = []
    for (const flow of flows) codes.push((await t.app.inject({ ...flow, remoteAddress: ip })).statusCode)
    expect(codes.slice(0, 3).every((c) => c !== 429)).toBe(true)
    expect(codes[3]).toBe(429)
  })

  it('bounds forgot-password mail for one address: 100 requests a minute from one IP send at most 3 mails (RC-07)', async () => {
    const { email } = await createAccount(t)
    const ip = freshIp()
    const replies: LightMyRequestResponse[] = []
    for (let i = 0; i < 100; i++) replies.push(await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', remoteAddress: ip, payload: { email } }))
    const accepted = replies.filter((r) => r.statusCode === 202)
    expect(accepted).toHaveLength(3)
    expect(new Set(accepted.map((r) => r.body))).toHaveProperty('size', 1)
    expect(replies.filter((r) => r.statusCode === 429)).toHaveLength(97)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(t.mail.filter((m) => m.to === email).length).toBeLessThanOrEqual(3)
  })

  it('counts signed-in password changes per IP in the same budget, apart from the user\'s own budget', async () => {
    const user = await makeUser(t.app)
    const ip = freshIp()
    const change = { method: 'POST' as const, url: '/api/v1/users/me/password', remoteAddress: ip, payload: { currentPassword: 'Not-the-password-1', newPassword: strongPassword() } }
    for (let i = 0; i < 3; i++) expect((await t.app.inject(as(user, change))).statusCode).not.toBe(429)
    expect((await t.app.inject(as(user, change))).statusCode).toBe(429)
    expect((await t.app.inject(as(user, { method: 'GET', url: '/api/v1/users/me', remoteAddress: ip }))).statusCode).toBe(200)
  })

  it('keeps health, metrics and the JWKS answering for an IP that spent every budget', async () => {
    const ip = freshIp()
    for (let i = 0; i < 6; i++) await t.app.inject(login(ip, uniqueEmail(), 'Wrong-password-123'))
    for (let i = 0; i < 6; i++) await t.app.inject({ method: 'GET', url: '/api/v1/instance', remoteAddress: ip })
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/instance', remoteAddress: ip })).statusCode).toBe(429)
    for (const url of ['/health/live', '/health/ready', '/metrics', '/.well-known/jwks.json']) {
      for (let i = 0; i < 5; i++) expect((await t.app.inject({ method: 'GET', url, remoteAddress: ip })).statusCode, url).toBe(200)
    }
  })
})

describe('AU-11: guessing one account\'s password', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '20' } }) })
  afterAll(async () => { await t.close() })

  it('limits 200 guesses from one IP despite a rotating X-Forwarded-For, locks the account, and refuses the right password generically', async () => {
    const { email, password } = await createAccount(t)
    const attacker = freshIp()
    const codes: number[] = []
    for (let i = 0; i < 200; i++) {
      const xff = `${10 + (i % 200)}.${i}.0.1, 203.0.113.${i % 250}`
      codes.push((await t.app.inject(login(attacker, email, `Guess-number-${i}-x`, { 'x-forwarded-for': xff }))).statusCode)
    }
    const accepted = codes.filter((c) => c !== 429)
    expect(accepted).toHaveLength(20)
    expect(new Set(accepted)).toEqual(new Set([401]))

    // The account lock engaged at 10 consecutive failures, for 15 minutes.
    const row = await t.app.users.findForLogin(email)
    expect(row?.failedLogins).toBe(10)
    const lockLeft = row!.lockedUntil!.getTime() - Date.now()
    expect(lockLeft).toBeGreaterThan(14 * 60_000)
    expect(lockLeft).toBeLessThanOrEqual(15 * 60_000)

    // From anywhere, the right password is refused exactly like a wrong one or an unknown account.
    const right = await t.app.inject(login(freshIp(), email, password))
    const wrong = await t.app.inject(login(freshIp(), email, 'Another-wrong-guess-1'))
    const unknown = await t.app.inject(login(freshIp(), uniqueEmail(), password))
    for (const res of [right, wrong, unknown]) expect(res.statusCode).toBe(401)
    expect(withoutRequestId(right)).toEqual(withoutRequestId(wrong))
    expect(withoutRequestId(right)).toEqual(withoutRequestId(unknown))

    // The owner can still reset the password, which lifts the lock.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', remoteAddress: freshIp(), payload: { email } })).statusCode).toBe(202)
    const resetMail = () => t.mail.find((m) => m.to === email && /reset-password\?token=/.test(m.text))
    await expect.poll(resetMail).toBeDefined()
    const token = /token=([A-Za-z0-9_-]+)/.exec(resetMail()!.text)![1]!
    const fresh = strongPassword()
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/reset-password', remoteAddress: freshIp(), payload: { token, password: fresh } })).statusCode).toBe(204)
    expect((await t.app.inject(login(freshIp(), email, fresh))).statusCode).toBe(200)
  })
})
