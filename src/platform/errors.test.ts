import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Type } from 'typebox'
import { sql } from 'drizzle-orm'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { AppError, defineErrors } from './errors.ts'
import { defineModule } from './modules.ts'

const probe = defineModule({
  name: 'probe',
  plugin: async (app) => {
    const errors = defineErrors({ WIDGET_NOT_FOUND: [404, 'Widget not found'] })
    app.get('/probe/missing', async () => { throw errors.WIDGET_NOT_FOUND() })
    app.get('/probe/crash', async () => { throw new Error('secret internal detail: password=hunter2') })
    app.post('/probe/echo', {
      schema: { body: Type.Object({ name: Type.String({ maxLength: 10 }), n: Type.Integer() }, { additionalProperties: false }) }
    }, async (request) => request.body)
    app.get('/probe/duplicate', async (_request) => {
      const err = new Error('duplicate key') as Error & { code: string }
      err.code = '23505'
      throw err
    })
    app.get('/probe/deadlock', async () => {
      const err = new Error('deadlock detected') as Error & { code: string }
      err.code = '40P01'
      throw err
    })
    app.get('/probe/custom', async () => { throw new AppError('TEAPOT', 418, 'short and stout') })
    // A NUL that reaches the database some way other than a request body or URL (a team module's own input).
    app.get('/probe/nul', async () => { await app.db.execute(sql`SELECT ${'a' + String.fromCharCode(0) + 'b'}::text`) })
  }
})

let t: TestApp
beforeAll(async () => { t = await createTestApp({ modules: [probe] }) })
afterAll(async () => { await t.close() })

describe('problem+json errors', () => {
  it('answers a deadlock or serialization failure with 503 and Retry-After, never a 500', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/deadlock' })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    expect(res.json()).toMatchObject({ code: 'CONCURRENT_UPDATE' })
    expect(res.body).not.toContain('deadlock detected')
  })

  it('answers 400 NUL_CHARACTER when PostgreSQL refuses a NUL, never a 500', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/nul' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'NUL_CHARACTER', detail: 'Text must not contain the NUL character (U+0000)' })
  })

  it('renders a module error with its code and status', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/missing' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(res.json()).toEqual({
      type: 'urn:backplane:problem:widget-not-found',
      title: 'Not Found',
      status: 404,
      detail: 'Widget not found',
      instance: '/probe/missing',
      code: 'WIDGET_NOT_FOUND',
      requestId: res.headers['x-request-id']
    })
  })

  it('hides the internals of an unexpected error behind a generic 500', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/crash' })
    expect(res.statusCode).toBe(500)
    expect(res.body).not.toContain('hunter2')
    expect(res.body).not.toContain('internal detail')
    expect(res.json()).toMatchObject({ code: 'INTERNAL', status: 500 })
  })

  it('gives validation errors with field paths', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/probe/echo', payload: { name: 'x'.repeat(11), n: 1 } })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
    expect(res.json().errors[0].path).toBe('body.name')
  })

  it('CF-08: refuses unknown properties and does not coerce body types', async () => {
    const extra = await t.app.inject({ method: 'POST', url: '/probe/echo', payload: { name: 'a', n: 1, role: 'admin' } })
    expect(extra.statusCode).toBe(400)
    expect(extra.json().errors[0]).toEqual({ path: 'body.role', message: 'is not an allowed property' })
    const coerced = await t.app.inject({ method: 'POST', url: '/probe/echo', payload: { name: 'a', n: '1' } })
    expect(coerced.statusCode).toBe(400)
    const bool = await t.app.inject({ method: 'POST', url: '/probe/echo', payload: { name: 'a', n: true } })
    expect(bool.statusCode).toBe(400)
  })

  it('maps a unique violation to 409', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/duplicate' })
    expect(res.statusCode).toBe(409)
    expect(res.json().code).toBe('CONFLICT')
  })

  it('answers unknown routes with a problem+json 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/no/such/route?token=abc' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND', instance: '/no/such/route' })
  })

  it('keeps any status an AppError names', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/custom' })
    expect(res.statusCode).toBe(418)
    expect(res.json().title).toBe("I'm a Teapot")
  })
})
