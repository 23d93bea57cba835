import { createRequire } from 'node:module'
import type * as Argon2 from '@node-rs/argon2'
import { authFlowErrors } from './errors.ts'

/** ARGON2 are the hashing parameters (OWASP: argon2id, m=19 MiB, t=2, p=1); raising them re-hashes on login. */
// algorithm 2 is Argon2id (the package exports it as a const enum, which erasable TypeScript cannot import).
export const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const
const MAX_BYTES = 128 * 4
const MAX_CODE_POINTS = 128
// The 49k-entry common-password list (zxcvbn-ts) is read on the first password check, not at
// start-up, and only entries long enough to ever pass the length rule are kept.
let common: Set<string> | undefined
function commonPasswords (): Set<string> {
  if (!common) {
    const list = createRequire(import.meta.url)('@zxcvbn-ts/language-common/dist/passwords.json.cjs') as string[]
    common = new Set(list.filter((p) => p.length >= 8).map((p) => p.toLowerCase()))
  }
  return common
}

// The native Argon2 library is loaded by the first password hashed or checked, not at start: it
// adds ~10 MB to the RSS of a process that loads it (issue 13), which a node that serves no sign-in,
// registration or password change (API-key clients, an idle cluster worker) need not carry.
let argon2Module: typeof Argon2 | undefined
function argon2 (): typeof Argon2 {
  argon2Module ??= createRequire(import.meta.url)('@node-rs/argon2') as typeof Argon2
  return argon2Module
}

/**
 * DUMMY_HASH is checked when the account does not exist, which costs the same as a real check, so
 * response time does not tell whether an email is registered. Made once with ARGON2 (a test holds
 * them equal) rather than at start, so loading this file costs no hashing and no native library.
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$B/kO4sbeCTdYP9HxfsNKKA$MYpOCRd8wKr7pq+1eDncodl/fbbKhaBdgVVkQWe/JPk'

/** checkPasswordPolicy refuses passwords that are too short, too long or common, before any hashing. */
export function checkPasswordPolicy (password: string, minLength: number, context: string[] = []): void {
  // Over 128 bytes' worth of characters is refused before hashing (a 1 MB password must cost nothing).
  if (Buffer.byteLength(password, 'utf8') > MAX_BYTES) throw authFlowErrors.WEAK_PASSWORD(`Password must be at most ${MAX_CODE_POINTS} characters`)
  const length = [...password].length
  if (length < minLength) throw authFlowErrors.WEAK_PASSWORD(`Password must be at least ${minLength} characters`)
  if (length > MAX_CODE_POINTS) throw authFlowErrors.WEAK_PASSWORD(`Password must be at most ${MAX_CODE_POINTS} characters`)
  const lower = password.toLowerCase()
  // `u`: one repeated character is one code point (without it twelve identical emoji passed), `s`: newlines too.
  if (commonPasswords().has(lower) || /^(.)\1+$/su.test(password)) throw authFlowErrors.WEAK_PASSWORD('This password is too common; choose another')
  if (context.some((c) => c.length >= 4 && lower.includes(c.toLowerCase()))) throw authFlowErrors.WEAK_PASSWORD('The password must not contain your email address or name')
}

/** isOversized tells whether a password must be refused without hashing (login path). */
export function isOversized (password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > MAX_BYTES || [...password].length > MAX_CODE_POINTS
}

/** hashPassword hashes with argon2id at the configured parameters. */
export function hashPassword (password: string): Promise<string> {
  return argon2().hash(password, ARGON2)
}

/** verifyPassword checks a password against a stored hash, or against a dummy hash when there is none. */
export async function verifyPassword (stored: string | null | undefined, password: string): Promise<boolean> {
  if (!stored) {
    await argon2().verify(DUMMY_HASH, password).catch(() => false)
    return false
  }
  return argon2().verify(stored, password).catch(() => false)
}

/** needsRehash tells whether a stored hash was made with weaker parameters than today's. */
export function needsRehash (stored: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored)
  if (!m) return true
  return Number(m[1]) < ARGON2.memoryCost || Number(m[2]) < ARGON2.timeCost || Number(m[3]) < ARGON2.parallelism
}
