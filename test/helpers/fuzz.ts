import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { LightMyRequestResponse } from 'fastify'
import { secretsIn } from './leaks.ts'
import type { JsonSchema } from './openapi-arbitraries.ts'

// ajv-formats is CommonJS; its default export is the plugin under Node's ESM interop.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/** Parameter is one OpenAPI path, query or header parameter. */
export interface Parameter { in: 'path' | 'query' | 'header', name: string, required?: boolean, schema: JsonSchema }

/** Operation is one method × path of the app's OpenAPI document, with what it documents. */
export interface Operation {
  method: string
  path: string
  operationId: string
  secured: boolean
  parameters: Parameter[]
  body?: JsonSchema
  responses: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>
}

interface OpenApiDocument { paths: Record<string, Record<string, { operationId: string, security?: unknown[], parameters?: Parameter[], requestBody?: { content?: Record<string, { schema?: JsonSchema }> }, responses: Operation['responses'] }>> }

/** operationsOf lists every operation of an OpenAPI document. */
export function operationsOf (doc: OpenApiDocument): Operation[] {
  const out: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      out.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        secured: (op.security ?? []).length > 0,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        responses: op.responses
      })
    }
  }
  return out
}

/**
 * PLATFORM_STATUSES are the 4xx any operation may answer (SECURITY.md FZ-01), plus 414, which the
 * router answers (as problem+json) for a path parameter over its length bound before any route runs.
 */
export const PLATFORM_STATUSES = new Set([400, 401, 403, 404, 409, 413, 414, 415, 422, 429])

// Requests are checked the way the server checks them (platform/validation.ts): bodies strictly,
// query strings, params and headers with coercion from text.
const bodyAjv = addFormats(new Ajv({ strict: false, coerceTypes: false, useDefaults: true, allErrors: false }))
const textAjv = addFormats(new Ajv({ strict: false, coerceTypes: 'array', useDefaults: true, allErrors: false }))
const replyAjv = addFormats(new Ajv({ strict: false, allErrors: true }))
const compiled = new Map<string, ValidateFunction>()

function compile (ajv: Ajv, key: string, schema: JsonSchema): ValidateFunction {
  let fn = compiled.get(key)
  if (!fn) { fn = ajv.compile(schema); compiled.set(key, fn) }
  return fn
}

/** partSchema is the object schema of an operation's parameters in one place (path, query, header). */
export function partSchema (op: Operation, where: Parameter['in']): JsonSchema {
  const params = op.parameters.filter((p) => p.in === where)
  return { type: 'object', properties: Object.fromEntries(params.map((p) => [p.name, p.schema])), required: params.filter((p) => p.required).map((p) => p.name) }
}

/** acceptsBody says whether the server's validation would let `body` through. */
export function acceptsBody (op: Operation, body: unknown): boolean {
  if (!op.body) return true
  return compile(bodyAjv, `body ${op.method} ${op.path}`, op.body)(structuredClone(body)) as boolean
}

/** acceptsText says whether the server's validation would let these path, query or header values through. */
export function acceptsText (op: Operation, where: Parameter['in'], values: Record<string, unknown>): boolean {
  return compile(textAjv, `${where} ${op.method} ${op.path}`, partSchema(op, where))(structuredClone(values)) as boolean
}

/** Sent is what the fuzzer sent, to judge the reply by. */
export interface Sent { identity: string, valid: boolean, text: string, why: string }

/**
 * violations judges one reply against FZ-01 and AZ-06: no 5xx; a documented or platform-wide status;
 * invalid input never 2xx; every 4xx a problem+json whose `status` is the reply's, with a `code`;
 * 2xx bodies match the documented schema; no secret anywhere.
 */
export function violations (op: Operation, sent: Sent, res: LightMyRequestResponse, secrets: string[]): string[] {
  const out: string[] = []
  const status = res.statusCode
  const where = `${op.method} ${op.path} as ${sent.identity} (${sent.why}) ${sent.text.slice(0, 300)} → ${status} ${res.body.slice(0, 300)}`
  if (status >= 500 && !(status === 503 && op.responses['503'])) out.push(`server error: ${where}`)
  if (!op.responses[String(status)] && !PLATFORM_STATUSES.has(status)) out.push(`undocumented status: ${where}`)
  if (!sent.valid && status < 400) out.push(`invalid input accepted: ${where}`)
  if (op.secured && sent.identity === 'anonymous' && status < 400) out.push(`works without credentials: ${where}`)
  if (status >= 400 && status < 500) {
    const type = String(res.headers['content-type'] ?? '')
    if (!type.startsWith('application/problem+json')) out.push(`4xx not problem+json (${type}): ${where}`)
    else {
      const problem = res.json() as { status?: unknown, code?: unknown }
      if (problem.status !== status || typeof problem.code !== 'string' || !problem.code) out.push(`malformed problem: ${where}`)
    }
  }
  if (status >= 200 && status < 300 && status !== 204) {
    const schema = op.responses[String(status)]?.content?.['application/json']?.schema
    if (schema && String(res.headers['content-type'] ?? '').includes('json')) {
      const check = compile(replyAjv, `reply ${status} ${op.method} ${op.path}`, schema)
      if (!check(res.json())) out.push(`reply does not match its schema (${replyAjv.errorsText(check.errors)}): ${where}`)
    }
  }
  const leaked = [...secretsIn(res, sent.text), ...secrets.filter((s) => res.body.includes(s) && !sent.text.includes(s))]
  if (leaked.length) out.push(`leaks ${leaked.map((s) => s.slice(0, 12)).join(', ')}: ${where}`)
  return out
}

/** Tally counts replies per operation class and identity, to prove the requests reached the services. */
export class Tally {
  private readonly counts = new Map<string, { sent: number, ok: number }>()
  /** add records one valid request and whether it got a 2xx. */
  add (key: string, status: number): void {
    const c = this.counts.get(key) ?? { sent: 0, ok: 0 }
    c.sent++
    if (status >= 200 && status < 300) c.ok++
    this.counts.set(key, c)
  }

  /** share is the fraction of valid requests under `key` answered 2xx. */
  share (key: string): number {
    const c = this.counts.get(key)
    return c && c.sent ? c.ok / c.sent : 0
  }

  /** table is every count, for the log when a bound fails. */
  table (): Record<string, string> {
    return Object.fromEntries([...this.counts].map(([k, c]) => [k, `${c.ok}/${c.sent}`]))
  }
}
