import { isIP } from 'node:net'

/** ConfigError is a start-up refusal: its message is one line naming the setting and what is allowed. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** list splits a comma-separated setting into its trimmed, non-empty parts. */
export function list (value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean)
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** parseDurations reads `5s,30s,2m` into milliseconds (the schema's pattern already guarantees the form). */
export function parseDurations (text: string): number[] {
  return text.split(',').map((part) => {
    const [, amount, unit] = /^ *([0-9]+)(ms|s|m|h) *$/.exec(part) ?? []
    return Number(amount) * (UNIT_MS[unit ?? 's'] ?? 1000)
  })
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/

/**
 * parseNamedJson reads a setting holding a JSON object of lowercase names to values (AUTH_ROLES,
 * FRONTEND_RATE_TIERS): `check` accepts a value or returns why not; every failure is one
 * ConfigError line naming the setting, what is wrong and an example.
 */
export function parseNamedJson<T> (setting: string, text: string, what: { entry: string, example: string }, check: (value: unknown) => value is T, wrongValue: string): Record<string, T> {
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch {
    throw new ConfigError(`${setting} is not valid JSON: expected ${what.example}`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${setting} must be a JSON object: ${what.example}`)
  }
  const out: Record<string, T> = {}
  for (const [name, value] of Object.entries(parsed)) {
    if (!NAME.test(name)) throw new ConfigError(`${setting}: ${what.entry} name "${name}" must be lowercase letters, digits and dashes`)
    if (!check(value)) throw new ConfigError(`${setting}: ${what.entry} "${name}" ${wrongValue}`)
    out[name] = value
  }
  return out
}

// proxy-addr's names for the standard ranges (Fastify's trustProxy hands the list to it).
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isContiguousMask (mask: string): boolean {
  const bits = mask.split('.').reduce((n, part) => n * 256 + Number(part), 0)
  const inverted = ~bits >>> 0
  return bits !== 0 && (inverted & (inverted + 1)) === 0
}

function isProxyEntry (entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true
  const [address = '', range, ...more] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || more.length > 0) return false
  if (range === undefined) return true
  if (/^[0-9]{1,3}$/.test(range)) return Number(range) >= 1 && Number(range) <= (family === 4 ? 32 : 128)
  return family === 4 && isIP(range) === 4 && isContiguousMask(range)
}

/**
 * parseProxies reads TRUST_PROXY: addresses, CIDR ranges (or IPv4 netmasks) and the names
 * loopback, linklocal, uniquelocal. A bad entry is refused at start-up, naming it, instead of
 * failing later inside the HTTP server with a message that does not say which setting is wrong.
 */
export function parseProxies (text: string): string[] {
  const entries = list(text)
  for (const entry of entries) {
    if (!isProxyEntry(entry)) {
      throw new ConfigError(`TRUST_PROXY: "${entry.slice(0, 100)}" is not an IP address or CIDR range: expected a comma-separated list such as 10.0.0.0/8,192.168.1.10 (or loopback, linklocal, uniquelocal)`)
    }
  }
  return entries
}
