import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { defineModule } from './modules.ts'
import { schemaCompilers } from './validation.ts'

// A schema Ajv refuses (a reference to nothing), to tell when compilation happens.
const refused = { type: 'object', properties: { a: { $ref: '#/definitions/missing' } } }
const route = (schema: unknown, httpPart = 'body') => ({ schema: schema as never, method: 'POST', url: '/x', httpPart })

describe('schemaCompilers', () => {
  it('compiles a lazy validator on its first call, an eager one when it is built', () => {
    const lazy = schemaCompilers('lazy').buildValidator!({}, undefined as never)
    const eager = schemaCompilers('eager').buildValidator!({}, undefined as never)
    const validate = lazy(route(refused)) as unknown as (data: unknown) => unknown
    expect(() => validate('x')).toThrow(/missing/)
    expect(() => eager(route(refused))).toThrow(/missing/)
  })

  it('hands Fastify the errors of a failed lazy validation on the function it was given', () => {
    const build = schemaCompilers('lazy').buildValidator!({}, undefined as never)
    const validate = build(route({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] })) as unknown as ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string }> | null }
    expect(validate({ n: 'x' })).toBe(false)
    expect(validate.errors?.[0]?.instancePath).toBe('/n')
    expect(validate({ n: 1 })).toBe(true)
    expect(validate.errors).toBeNull()
  })
})

const probe = defineModule({
  name: 'lazy-probe',
  plugin: async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/lazy/echo', {
      schema: {
        body: Type.Object({ name: Type.String({ maxLength: 10 }), n: Type.Integer() }, { additionalProperties: false }),
        querystring: Type.Object({ times: Type.Optional(Type.Integer({ minimum: 1, maximum: 3 })) }),
        response: { 200: Type.Object({ name: Type.String(), n: Type.Integer(), times: Type.Integer() }) }
      }
    }, async (request) => {
      // The extra field must not leave: the reply is serialised through the 200 schema.
      const reply = { ...request.body, times: request.query.times ?? 1, secret: 'not in the schema' }
      return reply
    })
  }
})

describe('an app whose schemas compile on first use (SCHEMA_COMPILE=lazy, the default)', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp({ env: { SCHEMA_COMPILE: 'lazy' }, modules: [probe] }) })
  afterAll(async () => { await t.close() })

  it('answers the first request of a route with a validation error and its field path', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/lazy/echo', payload: { name: 'x'.repeat(11), n: 1 } })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'body.name' }] })
  })

  it('keeps bodies uncoerced and strict, coerces the query, and serialises replies by their schema', async () => {
    const extra = await t.app.inject({ method: 'POST', url: '/lazy/echo', payload: { name: 'a', n: 1, role: 'admin' } })
    expect(extra.json().errors[0]).toEqual({ path: 'body.role', message: 'is not an allowed property' })
    expect((await t.app.inject({ method: 'POST', url: '/lazy/echo', payload: { name: 'a', n: '1' } })).statusCode).toBe(400)
    expect((await t.app.inject({ method: 'POST', url: '/lazy/echo?times=9', payload: { name: 'a', n: 1 } })).json().errors[0].path).toBe('querystring.times')
    const ok = await t.app.inject({ method: 'POST', url: '/lazy/echo?times=2', payload: { name: 'a', n: 1 } })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toBe('{"name":"a","n":1,"times":2}')
  })

  it('serves the built-in routes: a bad sign-up is a 400, the instance is read', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: 'not-an-email', password: 'x' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('VALIDATION_FAILED')
    const instance = await t.app.inject({ method: 'GET', url: '/api/v1/instance' })
    expect(instance.statusCode).toBe(200)
    expect(Object.keys(instance.json() as object).sort()).toEqual(['id', 'name', 'version'])
  })
})
