import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../test/helpers/auth.ts'
import { acceptsBody, operationsOf, type Operation } from '../../test/helpers/fuzz.ts'
import { validArbitrary, type JsonSchema } from '../../test/helpers/openapi-arbitraries.ts'
import { asAgent, makeProject, registerAgent, type TestAgent } from '../../test/helpers/work.ts'

// SECURITY.md RC-04 (OWASP API4:2023, "maximum length for strings, maximum number of elements in
// arrays"): every input the served OpenAPI document describes is bounded, so a 100k-element array,
// a 1 MiB string or 10k properties is a 400 from the schema, not work for the service. The lint runs
// over the document clients see (GET /openapi.json), not over the TypeBox sources.

/** unbounded lists the places in a schema where a string, array or object has no upper bound. */
function unbounded (schema: JsonSchema | undefined, where: string): string[] {
  if (!schema || typeof schema !== 'object') return []
  const out: string[] = []
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []
  const fixed = schema.enum !== undefined || schema.const !== undefined
  if (types.includes('string') && !fixed && schema.maxLength === undefined) out.push(`${where}: string without maxLength`)
  if (types.includes('array') && schema.maxItems === undefined) out.push(`${where}: array without maxItems`)
  const maxProperties = (schema as { maxProperties?: number }).maxProperties
  if (types.includes('object') && schema.additionalProperties !== false && maxProperties === undefined) out.push(`${where}: object without additionalProperties:false or maxProperties`)
  for (const [key, sub] of Object.entries(schema.properties ?? {})) out.push(...unbounded(sub, `${where}.${key}`))
  if (schema.items) out.push(...unbounded(schema.items, `${where}[]`))
  if (typeof schema.additionalProperties === 'object') out.push(...unbounded(schema.additionalProperties, `${where}{}`))
  for (const [i, sub] of (schema.anyOf ?? schema.oneOf ?? []).entries()) out.push(...unbounded(sub, `${where}|${i}`))
  return out
}

const AGENT_OPERATION = /^\/api\/v1\/(agents\/me|executions\/\{id\}\/(progress|complete|fail))/
const SOME_ID = '0190a8c0-0000-7000-8000-000000000001'

describe('bounded inputs in the OpenAPI document (RC-04)', () => {
  let t: TestApp
  let ops: Operation[]
  let admin: TestUser
  let agent: TestAgent
  beforeAll(async () => {
    t = await createTestApp()
    ops = operationsOf((await t.app.inject({ method: 'GET', url: '/openapi.json' })).json())
    admin = await makeUser(t.app, { roles: ['admin'] })
    agent = await registerAgent(t.app, admin, { projectId: await makeProject(t.app, admin) })
  }, 60_000)
  afterAll(async () => { await t?.close() })

  /** send injects a request with the credential the operation takes (an agent key for agent routes, else an admin). */
  const send = (op: Operation, options: Omit<InjectOptions, 'method'>) => {
    const base: InjectOptions = { ...options, method: op.method as InjectOptions['method'] }
    return t.app.inject(AGENT_OPERATION.test(op.path) ? asAgent(agent, base) : as(admin, base))
  }
  const urlOf = (op: Operation) => op.path.replace(/\{[^}]+\}/g, SOME_ID)

  it('RC-04: every string has maxLength, every array maxItems, every object additionalProperties:false or maxProperties, in every parameter and body', () => {
    expect(ops.length).toBeGreaterThan(50)
    const found: string[] = []
    for (const op of ops) {
      for (const p of op.parameters) found.push(...unbounded(p.schema, `${op.method} ${op.path} ${p.in}.${p.name}`))
      found.push(...unbounded(op.body, `${op.method} ${op.path} body`))
    }
    expect(found).toEqual([])
  })

  it('RC-04: a body with 10,000 unknown properties is a 400 naming one, on every operation with a body', async () => {
    const extra = JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, 1])))
    const withBody = ops.filter((op) => op.body)
    expect(withBody.length).toBeGreaterThan(20)
    const wrong: string[] = []
    for (const op of withBody) {
      const res = await send(op, { url: urlOf(op), payload: extra, headers: { 'content-type': 'application/json' } })
      if (res.statusCode !== 400) wrong.push(`${op.method} ${op.path}: ${res.statusCode}`)
    }
    expect(wrong).toEqual([])
  }, 60_000)

  // As many elements as fit under the 1 MiB body limit (100,000 when they are small): past the
  // limit the answer is 413 from the body parser, which is RC-02, not the schema bound.
  it('RC-04: a 100,000-element array in any array field of an otherwise valid body is a 400 naming that field', async () => {
    const wrong: string[] = []
    let probed = 0
    for (const [index, op] of ops.entries()) {
      const arrays = Object.entries(op.body?.properties ?? {}).filter(([, s]) => s.type === 'array')
      if (!op.body || arrays.length === 0) continue
      const valid = fc.sample(validArbitrary(op.body, {}, fc.constant(SOME_ID)), { seed: 1204 + index, numRuns: 20 }).find((b) => acceptsBody(op, b)) as Record<string, unknown> | undefined
      if (!valid) { wrong.push(`${op.method} ${op.path}: no valid body to start from`); continue }
      for (const [key, schema] of arrays) {
        const item = fc.sample(validArbitrary(schema.items ?? {}, {}, fc.constant(SOME_ID)), { seed: 1, numRuns: 1 })[0] ?? 'a'
        const length = Math.max((schema.maxItems ?? 0) + 1, Math.min(100_000, Math.floor(900_000 / (JSON.stringify(item).length + 1))))
        const res = await send(op, { url: urlOf(op), payload: { ...valid, [key]: new Array(length).fill(item) } })
        probed++
        const fields = (res.json() as { errors?: Array<{ path: string }> }).errors?.map((e) => e.path) ?? []
        if (res.statusCode !== 400 || !fields.some((f) => f.startsWith(`body.${key}`))) wrong.push(`${op.method} ${op.path} ${key}: ${res.statusCode} ${fields.join(',')}`)
      }
    }
    expect(probed).toBeGreaterThan(5)
    expect(wrong).toEqual([])
  }, 60_000)

  it('RC-04: 10,000 unknown query parameters are refused (400, or 414 for the URL length) on every operation with a query', async () => {
    const qs = Array.from({ length: 10_000 }, (_, i) => `q${i}=1`).join('&')
    const withQuery = ops.filter((op) => op.parameters.some((p) => p.in === 'query') && op.parameters.every((p) => p.name !== 'wait'))
    expect(withQuery.length).toBeGreaterThan(10)
    const wrong: string[] = []
    for (const op of withQuery) {
      const res = await send(op, { url: `${urlOf(op)}?${qs}` })
      if (res.statusCode !== 400 && res.statusCode !== 414) wrong.push(`${op.method} ${op.path}: ${res.statusCode}`)
    }
    expect(wrong).toEqual([])
  }, 60_000)
})
