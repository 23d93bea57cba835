import { createHmac, timingSafeEqual } from 'node:crypto'

/** LinkCheck is what a signed link's query says: good, past its expiry, or not signed by us (tampered). */
export type LinkCheck = 'valid' | 'expired' | 'invalid'

/**
 * createLinkSigner signs short-lived download links: HMAC-SHA256 over the file id and the expiry,
 * with a key derived from the master secret for this purpose only.
 */
export function createLinkSigner (key: () => Buffer) {
  const mac = (fileId: string, expires: number) => createHmac('sha256', key()).update(`file-download:${fileId}:${expires}`).digest('base64url')
  return {
    /** sign returns the signature of a link to `fileId` valid until `expires` (Unix seconds). */
    sign: mac,
    /** check verifies a link in constant time; the signature is checked before the expiry, so a forged expiry is `invalid`. */
    check (fileId: string, expires: number, signature: string, now: Date): LinkCheck {
      const expected = Buffer.from(mac(fileId, expires))
      const given = Buffer.from(signature)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid'
      return expires * 1000 < now.getTime() ? 'expired' : 'valid'
    }
  }
}

/** LinkSigner is what createLinkSigner returns. */
export type LinkSigner = ReturnType<typeof createLinkSigner>
