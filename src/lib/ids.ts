import { randomFillSync } from 'node:crypto'
import { Type, type TString } from 'typebox'

const POOL_SIZE = 16 * 512
const pool = Buffer.allocUnsafe(POOL_SIZE)
let offset = POOL_SIZE
let lastMs = 0
let counter = 0
const HEX: string[] = Array.from({ length: 256 }, (_v, i) => (i + 0x100).toString(16).slice(1))

/**
 * newId returns a UUID v7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids sort by
 * creation time and primary keys stay index-friendly. Random bytes come from a pool refilled 8 KiB
 * at a time (one getRandomValues call per id cost ~6% of a request); within one millisecond a
 * 12-bit counter in rand_a keeps ids from one process strictly increasing.
 */
export function newId (): string {
  if (offset + 10 > POOL_SIZE) {
    randomFillSync(pool)
    offset = 0
  }
  const now = Date.now()
  if (now > lastMs) {
    lastMs = now
    counter = pool[offset]! << 3 // a random start in the lower half, leaving room to count up
  } else if (++counter > 0xfff) {
    // 2048+ ids in one millisecond (or the clock went back): borrow the next millisecond.
    lastMs++
    counter = 0
  }
  const b = pool.subarray(offset, offset + 10)
  offset += 10
  const ms = lastMs
  const hi = Math.floor(ms / 0x1000000) // top 24 bits of the 48-bit timestamp
  const lo = ms % 0x1000000
  const bytes = [
    (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff,
    0x70 | (counter >>> 8), counter & 0xff,
    0x80 | (b[0]! & 0x3f), b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!
  ]
  let out = ''
  for (let i = 0; i < 16; i++) {
    out += HEX[bytes[i]!]
    if (i === 3 || i === 5 || i === 7 || i === 9) out += '-'
  }
  return out
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** isWellFormedRequestId accepts a client-sent X-Request-ID only when it is short and log-safe. */
export function isWellFormedRequestId (value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value)
}

/** UUID_PATTERN is the one spelling of an id the API hands out and takes: lowercase hex, hyphenated (RFC 9562). */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

const CANONICAL_ID = new RegExp(UUID_PATTERN)

/** isId accepts a value that is an id in the one spelling idSchema allows (cursors, channels, event ids). */
export function isId (value: unknown): value is string {
  return typeof value === 'string' && CANONICAL_ID.test(value)
}

/**
 * idSchema is the schema of every id in params, queries, bodies and replies. `format: uuid` alone
 * (Ajv) also takes `urn:uuid:…` and upper case: PostgreSQL refused the URN form (a 500), and an
 * upper-case id would be a second name for the same row in caches and channels. The pattern and
 * the exact length allow the canonical form only; the format stays for the OpenAPI readers.
 */
export function idSchema (options: { description?: string } = {}): TString {
  return Type.String({ format: 'uuid', pattern: UUID_PATTERN, minLength: 36, maxLength: 36, ...options })
}
