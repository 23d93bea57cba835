import { createHash, createHmac, randomBytes } from 'node:crypto'

/** newOpaqueToken makes a 256-bit random token for refresh, reset, verification and invitation links. */
export function newOpaqueToken (): string {
  return randomBytes(32).toString('base64url')
}

/** hashToken is how opaque tokens are stored: SHA-256, so a database leak reveals no usable token. */
export function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/**
 * childToken derives the refresh token that replaces `parent`. Being deterministic, a client that
 * retries a refresh within the grace window receives the very same child, while only hashes are stored.
 */
export function childToken (key: Buffer, parent: string): string {
  return createHmac('sha256', key).update(parent).digest('base64url')
}
