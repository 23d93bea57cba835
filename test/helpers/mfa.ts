import { Secret, TOTP } from 'otpauth'
import type { FastifyInstance } from 'fastify'
import { vi } from 'vitest'
import { as } from './auth.ts'

/** totpCode is what an authenticator app shows for this secret at `timestamp` (otpauth, RFC 6238). */
export function totpCode (secret: string, timestamp = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp })
}

/**
 * nextTotpStep moves the (faked) clock to the next 30-second step: each code is single-use, so a
 * test that signs in twice must wait for a new code like a person would. Needs
 * `vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })`.
 */
export function nextTotpStep (): void {
  vi.setSystemTime(Date.now() + 30_000)
}

/** enrolTotp turns TOTP on for a signed-in user through the API and returns the secret and recovery codes. */
export async function enrolTotp (app: FastifyInstance, user: { accessToken: string }): Promise<{ secret: string, recoveryCodes: string[], otpauthUri: string, qrDataUrl: string }> {
  const begun = await app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/totp' }))
  if (begun.statusCode !== 200) throw new Error(`enrolment failed: ${begun.statusCode} ${begun.body}`)
  const { secret, otpauthUri, qrDataUrl } = begun.json()
  const confirmed = await app.inject(as(user, { method: 'POST', url: '/api/v1/users/me/mfa/totp/confirm', payload: { code: totpCode(secret) } }))
  if (confirmed.statusCode !== 200) throw new Error(`confirmation failed: ${confirmed.statusCode} ${confirmed.body}`)
  nextTotpStep()
  return { secret, otpauthUri, qrDataUrl, recoveryCodes: confirmed.json().recoveryCodes }
}

/** passwordStep signs in with email and password and returns the raw reply (200 session or 202 challenge). */
export function passwordStep (app: FastifyInstance, email: string, password: string) {
  return app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })
}
