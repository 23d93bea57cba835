import { createHmac, timingSafeEqual } from 'node:crypto'
import { isId } from '../../lib/ids.ts'

/** UnsubscribeGrant is what a valid unsubscribe token allows: turning these types' email off for this user. */
export interface UnsubscribeGrant { userId: string, types: string[] }

/**
 * createUnsubscribeSigner signs one-click unsubscribe tokens: `<payload>.<mac>`, the payload naming
 * the user and the mail's types, the MAC an HMAC-SHA256 under a key derived from the master secret.
 * A token carries no expiry: a mail's link must keep working (it can only turn email off).
 */
export function createUnsubscribeSigner (key: () => Buffer) {
  const mac = (payload: string) => createHmac('sha256', key()).update(`notifications-unsubscribe\n${payload}`).digest('base64url')
  return {
    sign (grant: UnsubscribeGrant): string {
      const payload = Buffer.from(JSON.stringify([grant.userId, [...new Set(grant.types)].sort()])).toString('base64url')
      return `${payload}.${mac(payload)}`
    },
    /** verify returns the grant of an untouched token, undefined for a forged, altered or malformed one. */
    verify (token: string): UnsubscribeGrant | undefined {
      const [payload, given, extra] = token.split('.')
      if (!payload || !given || extra !== undefined) return undefined
      const expected = Buffer.from(mac(payload))
      const actual = Buffer.from(given)
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined
      try {
        const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
        if (!Array.isArray(parsed) || parsed.length !== 2) return undefined
        const [userId, types] = parsed as unknown[]
        if (typeof userId !== 'string' || !isId(userId) || !Array.isArray(types) || types.length === 0) return undefined
        if (!types.every((t): t is string => typeof t === 'string')) return undefined
        return { userId, types }
      } catch {
        return undefined
      }
    }
  }
}

/** UnsubscribeSigner signs and checks unsubscribe tokens. */
export type UnsubscribeSigner = ReturnType<typeof createUnsubscribeSigner>
