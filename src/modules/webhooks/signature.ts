import { createHmac, randomBytes } from 'node:crypto'

/** SECRET_PREFIX marks a Standard Webhooks symmetric secret. */
export const SECRET_PREFIX = 'whsec_'

/** newWebhookSecret makes an endpoint's signing secret: `whsec_` + base64 of 32 random bytes (the spec asks for 24 to 64). */
export function newWebhookSecret (): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`
}

/** secretKey is the HMAC key of a `whsec_` secret: the bytes its base64 part encodes. */
export function secretKey (secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64')
}

/**
 * signatureHeader is the `webhook-signature` value: one `v1,<base64 HMAC-SHA256>` of
 * `${id}.${timestamp}.${body}` per secret, space separated (the current secret first, then a
 * rotated-out one still within its overlap), so receivers holding either secret verify.
 */
export function signatureHeader (secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  const content = `${id}.${timestampSeconds}.${body}`
  return secrets.map((s) => `v1,${createHmac('sha256', secretKey(s)).update(content).digest('base64')}`).join(' ')
}
