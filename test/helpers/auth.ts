import { randomBytes } from 'node:crypto'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { hashPassword } from '../../src/modules/auth/passwords.ts'

/** TestUser is an account made by a test, signed in. */
export interface TestUser {
  id: string
  email: string
  password: string
  accessToken: string
  refreshToken: string
  sessionId: string
}

/** uniqueEmail makes an address no other test uses. */
export function uniqueEmail (prefix = 'user'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}@example.test`
}

/** strongPassword makes a password that passes the policy. */
export function strongPassword (): string {
  return `Pw-${randomBytes(12).toString('base64url')}`
}

/** login signs in through the API. */
export async function login (app: FastifyInstance, email: string, password: string) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return res.json() as { accessToken: string, refreshToken: string, sessionId: string }
}

/** makeUser creates an account directly (fast, no mail) with the given roles, then signs it in through the API. */
export async function makeUser (app: FastifyInstance, options: { roles?: string[], email?: string } = {}): Promise<TestUser> {
  const email = options.email ?? uniqueEmail()
  const password = strongPassword()
  const row = await app.users.create({ email, passwordHash: await hashPassword(password), roles: options.roles ?? ['user'], emailVerified: true })
  const tokens = await login(app, email, password)
  return { id: row.id, email, password, ...tokens }
}

/** as returns inject options carrying a user's bearer token. */
export function as (user: { accessToken: string }, options: InjectOptions): InjectOptions {
  return { ...options, headers: { ...(options.headers ?? {}), authorization: `Bearer ${user.accessToken}` } }
}
