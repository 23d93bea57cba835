import type { TSchema } from 'typebox'

interface SchemaLike {
  type?: string
  anyOf?: Array<{ const?: unknown }>
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  description?: string
}

/** describeAllowed turns a setting's schema into a short phrase saying what values it accepts. */
export function describeAllowed (schema: TSchema): string {
  const s = schema as SchemaLike
  if (s.anyOf) return `one of ${s.anyOf.map((o) => String(o.const)).join(', ')}`
  if (s.type === 'boolean') return 'true or false (1 or 0 also work)'
  if (s.type === 'integer') return `a whole number from ${s.minimum ?? '-∞'} to ${s.maximum ?? '∞'}`
  if (s.type === 'string') {
    if (s.pattern?.startsWith('^postgres')) return 'a postgres:// or postgresql:// URL'
    if (s.pattern?.startsWith('^https?')) return 'an http:// or https:// URL'
    if (s.pattern) return `a value matching ${s.pattern}`
    if (s.minLength && s.minLength > 1) return `at least ${s.minLength} characters`
    return `text of at most ${s.maxLength ?? 'any'} characters`
  }
  return s.description ?? 'a valid value'
}
