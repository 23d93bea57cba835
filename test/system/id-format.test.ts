import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { newId } from '../../src/lib/ids.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { acceptsBody, operationsOf, type Operation } from '../helpers/fuzz.ts'
import { uuidFormatEdges, validArbitrary, type JsonSchema } from '../helpers/openapi-arbitraries.ts'
import { asAgent, makeProject, registerAgent, type TestAgent } from '../helpers/work.ts'

// One id format for every id the API takes: the lowercase, hyphenated UUID it hands out. Ajv's
// `format: uuid` also accepts `urn:uuid:…` and upper case; PostgreSQL refused the URN form, and 21
// operations answered 500 where projects, tasks and webhooks (which bounded the length) said 400.
const AGENT_OPERATION = /^\/api\/v1\/(agents\/me|executions\/\{id\}\/(progress|complete|fail))/

function isId (schema: JsonSchema | undefined): boolean {
  if (!schema) return false
  return schema.format === 'uuid' || (schema.anyOf ?? schema.oneOf ?? []).some(isId)
}

/** IdField is one place an operation takes an id: a path or query parameter, or a top-level body property. */
interface IdField { op: Operation, where: 'params' | 'querystring' | 'body', name: string }

function idFields (ops: Operation[]): IdField[] {
  const out: IdField[] = []
  for (const op of ops) {
    for (const p of op.parameters) {
      if (isId(p.schema) && (p.in === 'path' || p.in === 'query')) out.push({ op, where: p.in === 'path' ? 'params' : 'querystring', name: p.name })
    }
    for (const [name, schema] of Object.entries(op.body?.properties ?? {})) if (isId(schema)) out.push({ op, where: 'body', name })
  }
  return out
}

let t: TestApp
let admin: TestUser
let agent: TestAgent
let projectId: string
beforeAll(async () => {
  t = await createTestApp()
  admin = await makeUser(t.app, { roles: ['admin'] })
  projectId = await makeProject(t.app, admin)
  agent = await registerAgent(t.app, admin, { projectId })
})
afterAll(async () => { await t?.close() })

describe('ids in params, queries and bodies', () => {
  it('answers 400 problem+json naming the field, never 500, to urn:uuid:, upper-case, braced and unhyphenated ids', async () => {
    const fields = idFields(operationsOf(t.app.swagger() as never))
    const problems: string[] = []
    let sent = 0
    for (const { op, where, name } of fields) {
      const id = newId()
      // The other path parameters get well-formed ids (or a word), the body a valid one, so only this field is wrong.
      let url = op.path
      for (const p of op.parameters.filter((p) => p.in === 'path' && !(where === 'params' && p.name === name))) url = url.replace(`{${p.name}}`, isId(p.schema) ? newId() : 'executions')
      const body = op.body ? fc.sample(validArbitrary(op.body, {}, fc.constant(projectId)), { seed: 7, numRuns: 1 })[0] as Record<string, unknown> : undefined
      if (where === 'body' && !acceptsBody(op, { ...body, [name]: id })) throw new Error(`no valid body for ${op.method} ${op.path}`)
      for (const edge of uuidFormatEdges(id)) {
        const target = where === 'params' ? url.replace(`{${name}}`, encodeURIComponent(edge)) : where === 'querystring' ? `${url}?${new URLSearchParams({ [name]: edge })}` : url
        const payload = where === 'body' ? { ...body, [name]: edge } : body
        const base: InjectOptions = { method: op.method as InjectOptions['method'], url: target, ...(payload === undefined ? {} : { payload }) }
        const res = await t.app.inject(AGENT_OPERATION.test(op.path) ? asAgent(agent, base) : as(admin, base))
        sent++
        const paths = res.statusCode === 400 ? (res.json().errors ?? []).map((e: { path: string }) => e.path) : []
        if (res.statusCode !== 400 || res.headers['content-type'] !== 'application/problem+json; charset=utf-8' || !paths.includes(`${where}.${name}`)) {
          problems.push(`${op.method} ${op.path} ${where}.${name}=${edge}: ${res.statusCode} ${paths.join(',')}`)
        }
      }
    }
    expect(problems).toEqual([])
    // Every operation that names a resource by id in its URL, and the id fields of queries and bodies.
    expect(new Set(fields.map((f) => `${f.op.method} ${f.op.path}`)).size).toBeGreaterThanOrEqual(30)
    expect(sent).toBeGreaterThan(100)
  }, 120_000)

  it('documents one id schema: a strict lowercase UUID pattern on every id', async () => {
    const ops = operationsOf(t.app.swagger() as never)
    const seen = new Set<string>()
    const visit = (schema: JsonSchema | undefined) => {
      if (!schema) return
      if (schema.format === 'uuid') seen.add(JSON.stringify({ pattern: schema.pattern, minLength: schema.minLength, maxLength: schema.maxLength }))
      for (const s of [...Object.values(schema.properties ?? {}), ...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.items ? [schema.items] : [])]) visit(s)
    }
    for (const op of ops) {
      for (const p of op.parameters) visit(p.schema)
      visit(op.body)
    }
    expect([...seen]).toEqual([JSON.stringify({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', minLength: 36, maxLength: 36 })])
  })
})
