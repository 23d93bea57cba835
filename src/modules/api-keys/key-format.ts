import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
const PREFIX_LENGTH = 8
// bp_ + 8-character prefix + _ + 43 characters (32 random bytes in base64url, 256 bits).
const KEY_PATTERN = /^bp_([a-z0-9]{8})_[A-Za-z0-9_-]{43}$/

/** MAX_KEY_LENGTH bounds what is worth parsing; anything longer is refused before any work. */
export const MAX_KEY_LENGTH = 64

/** NewKey is a freshly made key: shown once to its owner, stored only as its prefix and hash. */
export interface NewKey { key: string, prefix: string, hash: string }

/** hashApiKey is how keys are stored: SHA-256 of the whole key (the key has 256 random bits, so no slow hash is needed). */
export function hashApiKey (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** newApiKey makes `bp_<prefix>_<secret>` with a lowercase alphanumeric prefix and a 256-bit secret. */
export function newApiKey (): NewKey {
  let prefix = ''
  for (let i = 0; i < PREFIX_LENGTH; i++) prefix += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)]
  const key = `bp_${prefix}_${randomBytes(32).toString('base64url')}`
  return { key, prefix, hash: hashApiKey(key) }
}

/** prefixOf returns the lookup prefix of a well-formed key, or undefined for anything else. */
export function prefixOf (key: string): string | undefined {
  if (key.length > MAX_KEY_LENGTH) return undefined
  return KEY_PATTERN.exec(key)?.[1]
}

/** sameHash compares a presented key's hash with the stored one in constant time. */
export function sameHash (stored: string, presented: string): boolean {
  const a = Buffer.from(stored, 'hex')
  const b = Buffer.from(presented, 'hex')
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b)
}
