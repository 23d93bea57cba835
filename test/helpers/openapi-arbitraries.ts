import fc from 'fast-check'

/** JsonSchema is the subset of JSON Schema the app's TypeBox route schemas use. */
export interface JsonSchema {
  type?: string | string[]
  format?: string
  pattern?: string
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  uniqueItems?: boolean
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  default?: unknown
}

/** Hints give a field, by its property name, values the server's own rules accept (a cron, an id that exists). */
export type Hints = Record<string, fc.Arbitrary<unknown>>

const FUTURE = { min: new Date('2031-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }

/**
 * uuidFormatEdges are spellings of an id that some UUID parsers take and others refuse: Ajv's
 * `format: uuid` took `urn:uuid:…` and upper case, PostgreSQL refused the URN (a 500). The API
 * takes one spelling only, the lowercase hyphenated one it hands out.
 */
export function uuidFormatEdges (id: string): string[] {
  return [`urn:uuid:${id}`, `URN:UUID:${id}`, id.toUpperCase(), `{${id}}`, id.replaceAll('-', ''), ` ${id}`, `${id}\n`]
}

/** withUuidEdges mixes the format-edge spellings of generated ids in with the ids themselves. */
export function withUuidEdges (ids: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof({ weight: 6, arbitrary: ids }, { weight: 1, arbitrary: fc.tuple(ids, fc.nat()).map(([id, i]) => { const edges = uuidFormatEdges(id); return edges[i % edges.length]! }) })
}

function stringArbitrary (schema: JsonSchema, ids: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0
  const max = Math.min(schema.maxLength ?? 60, 60)
  if (schema.format === 'uuid') return withUuidEdges(ids)
  if (schema.format === 'date-time') return fc.date(FUTURE).map((d) => d.toISOString())
  if (schema.format === 'email') return fc.stringMatching(/^[a-z][a-z0-9]{2,12}$/).map((s) => `fz-${s}@example.test`)
  if (schema.format === 'uri') return fc.constant('https://hooks.example.com/in')
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => [...s].length >= min && [...s].length <= (schema.maxLength ?? Infinity))
  }
  // Printable text most of the time, any code point (NUL, astral, right-to-left) some of the time.
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, 1) }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: Math.max(min, 1), maxLength: Math.max(max, 1) }) }
  ).filter((s) => [...s].length >= min && [...s].length <= (schema.maxLength ?? Infinity))
}

/**
 * validArbitrary generates values that satisfy `schema` (and the hints' server rules), so that a
 * good share of requests pass validation and reach the services.
 */
export function validArbitrary (schema: JsonSchema, hints: Hints, ids: fc.Arbitrary<string>, name = ''): fc.Arbitrary<unknown> {
  const hint = hints[name]
  if (hint) return hint
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  const choices = schema.anyOf ?? schema.oneOf
  if (choices) return fc.oneof(...choices.map((s) => validArbitrary(s, hints, ids, name)))
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string': return stringArbitrary(schema, ids)
    case 'integer': return fc.integer({ min: schema.minimum ?? -1000, max: Math.min(schema.maximum ?? 100_000, 100_000) })
    case 'number': return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true, noDefaultInfinity: true })
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
    case 'array': {
      const item = validArbitrary(schema.items ?? {}, hints, ids, `${name}[]`)
      const bounds = { minLength: schema.minItems ?? 0, maxLength: Math.max(Math.min(schema.maxItems ?? 3, 3), schema.minItems ?? 0) }
      return schema.uniqueItems ? fc.uniqueArray(item, { ...bounds, selector: (v) => JSON.stringify(v) }) : fc.array(item, bounds)
    }
    case 'object': {
      const props = schema.properties ?? {}
      const model: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [key, sub] of Object.entries(props)) model[key] = validArbitrary(sub, hints, ids, key)
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in props) })
    }
    default:
      // No type: "any JSON" (a task payload); keep it small and not null.
      return fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), fc.integer(), fc.string())
  }
}

/** NASTY_VALUES are values of every JSON type that break naive handlers: huge, unicode, NUL, overflowing, deep. */
export const NASTY_VALUES: unknown[] = [
  '', '\u0000', 'a\u0000b', 'x'.repeat(70_000), '💥'.repeat(300), '\u202e\ufeff\ud83d', "'; DROP TABLE users; --", '../../etc/passwd',
  '1e309', 'NaN', '-1', 'Infinity', -1, 0, 2 ** 53, -(2 ** 63), 1.5, 1e300, true, false, null,
  [], [1, 2], ['a'], {}, { $gt: '' }, { __proto__x: 1 }, deep(60)
]

/** deep nests an array `depth` levels. */
export function deep (depth: number): unknown {
  let value: unknown = 'bottom'
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

/** A BodyMutation is an invalid variant of a valid body, raw text where JSON cannot express it. */
export type BodyMutation = { body: unknown, raw?: undefined, why: string } | { body?: undefined, raw: string, why: string }

/** mutationArbitrary turns a valid object body into one that breaks its schema in one way. */
export function mutationArbitrary (schema: JsonSchema, valid: fc.Arbitrary<unknown>): fc.Arbitrary<BodyMutation> {
  const props = Object.keys(schema.properties ?? {})
  const required = schema.required ?? []
  const nasty = fc.constantFrom(...NASTY_VALUES)
  const options: Array<fc.Arbitrary<BodyMutation>> = [
    nasty.map((v) => ({ body: v, why: 'body is not an object' })),
    valid.map((b) => ({ body: [b], why: 'array for the body' })),
    valid.map((b) => ({ body: { ...(b as object), zzExtra: 1, isAdmin: true, roles: ['admin'], ownerId: '00000000-0000-4000-8000-000000000000' }, why: 'extra properties' })),
    valid.map((b) => ({ raw: `{"__proto__":{"isAdmin":true},${JSON.stringify(b).slice(1)}`.replace(/,}$/, '}'), why: '__proto__ key' })),
    valid.map((b) => ({ raw: `{"constructor":{"prototype":{"isAdmin":true}},${JSON.stringify(b).slice(1)}`.replace(/,}$/, '}'), why: 'constructor.prototype key' })),
    fc.constantFrom('{', '{"a":', 'nul', '{"a":1}}', '\u0000', '{"a":1e309}').map((raw) => ({ raw, why: 'broken JSON' })),
    fc.constant({ raw: `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, why: 'deep nesting' })
  ]
  if (required.length) {
    options.push(fc.tuple(valid, fc.constantFrom(...required)).map(([b, key]) => {
      const copy = { ...(b as Record<string, unknown>) }
      delete copy[key]
      return { body: copy, why: `missing ${key}` }
    }))
  }
  if (props.length) {
    options.push(fc.tuple(valid, fc.constantFrom(...props), nasty).map(([b, key, v]) => ({ body: { ...(b as object), [key]: v }, why: `${key} replaced` })))
    options.push(fc.tuple(valid, fc.constantFrom(...props)).map(([b, key]) => {
      const text = JSON.stringify({ ...(b as object), [key]: 0 })
      return { raw: text.replace(`"${key}":0`, `"${key}":1e309`), why: `${key} is 1e309` }
    }))
  }
  return fc.oneof(...options)
}
