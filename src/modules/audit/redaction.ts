/** REDACTED replaces every secret value in audit details. */
export const REDACTED = '[redacted]'

/** MAX_DETAILS_BYTES bounds the serialized details of one audit event. */
export const MAX_DETAILS_BYTES = 4096

// Keys that name a secret, at any depth and in any letter case (password, apiKey, refresh_token, Set-Cookie…).
const SECRET_KEY = /pass|secret|token|key|authorization|cookie/i
// Values that are credentials whatever their key: a bearer header, a JWT, a Backplane API key.
const SECRET_VALUE = [/^\s*bearer\s/i, /eyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*/, /\bbp_[A-Za-z0-9_-]{20,}/]
const MAX_DEPTH = 6
const MAX_KEYS = 50
const MAX_ITEMS = 50
const MAX_STRING = 1000
const MAX_KEY = 100
// PostgreSQL refuses U+0000 in text and jsonb: one such character would fail the whole batch.
const NUL = new RegExp(String.fromCharCode(0), 'g')

/** cleanText makes a string storable: NUL characters replaced and the length capped. */
export function cleanText (value: string, max: number): string {
  const text = value.replace(NUL, '\uFFFD')
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

function scrubString (value: string): string {
  return SECRET_VALUE.some((re) => re.test(value)) ? REDACTED : cleanText(value, MAX_STRING)
}

function scrub (value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (value === null || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string') return scrubString(value)
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'object') return undefined // functions, symbols, undefined: not data
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  // An error's message may quote its input; only its class is kept.
  if (value instanceof Error) return { error: cleanText(value.name, MAX_KEY) }
  if (depth >= MAX_DEPTH) return '[too deep]'
  if (ancestors.has(value)) return '[circular]'
  ancestors.add(value)
  try {
    if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => scrub(item, depth + 1, ancestors) ?? null)
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).slice(0, MAX_KEYS)) {
      const safeKey = cleanText(key, MAX_KEY)
      if (SECRET_KEY.test(key)) {
        out[safeKey] = REDACTED
        continue
      }
      const next = scrub((value as Record<string, unknown>)[key], depth + 1, ancestors)
      if (next !== undefined) out[safeKey] = next
    }
    return out
  } finally {
    ancestors.delete(value)
  }
}

function cutToBytes (text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8').subarray(0, maxBytes)
  // Decoding drops a multi-byte character cut in half as U+FFFD; trim it so the preview stays clean.
  return buf.toString('utf8').replace(/\uFFFD$/, '')
}

/**
 * scrubDetails makes event details safe to store: every value under a key naming a secret (pass,
 * secret, token, key, authorization, cookie) and every value that looks like a credential is
 * replaced by "[redacted]", depth, keys, items and strings are bounded, and a result larger than
 * MAX_DETAILS_BYTES serialized is replaced by a truncated preview of the scrubbed JSON.
 */
export function scrubDetails (details: unknown): Record<string, unknown> {
  if (details === undefined || details === null) return {}
  const clean = scrub(details, 0, new Set())
  const object = clean !== null && typeof clean === 'object' && !Array.isArray(clean) ? clean as Record<string, unknown> : { value: clean ?? null }
  const json = JSON.stringify(object)
  const bytes = Buffer.byteLength(json)
  if (bytes <= MAX_DETAILS_BYTES) return object
  // The preview is cut from already scrubbed JSON, so it cannot reveal what scrubbing removed;
  // escaping grows it again when stored as a string, so it is cut until the whole fits.
  let budget = MAX_DETAILS_BYTES - 64
  for (;;) {
    const truncated = { truncated: true, bytes, preview: cutToBytes(json, budget) }
    const size = Buffer.byteLength(JSON.stringify(truncated))
    if (size <= MAX_DETAILS_BYTES) return truncated
    budget -= size - MAX_DETAILS_BYTES
  }
}
