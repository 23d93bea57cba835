import { createHmac, randomInt } from 'node:crypto'

/** RECOVERY_CODE_COUNT is how many single-use recovery codes a user holds after enrolment or regeneration. */
export const RECOVERY_CODE_COUNT = 10
// Crockford-style base32 without I, L, O, U: nothing to misread when typed from paper.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const GROUPS = 3
const GROUP = 4

/** newRecoveryCodes makes the codes shown once to the user: 12 characters of 32 each (60 bits), as XXXX-XXXX-XXXX. */
export function newRecoveryCodes (): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    Array.from({ length: GROUPS }, () => Array.from({ length: GROUP }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')).join('-'))
}

/** normaliseRecoveryCode accepts what people type: any case, with or without dashes or spaces. */
export function normaliseRecoveryCode (input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '')
}

/**
 * hashRecoveryCode is how codes are stored: an HMAC under a key derived from the master secret, so a
 * copy of the database alone cannot be searched for the 60-bit codes.
 */
export function hashRecoveryCode (key: Buffer, code: string): string {
  return createHmac('sha256', key).update(normaliseRecoveryCode(code)).digest('base64url')
}
