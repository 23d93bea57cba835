import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../test/helpers/auth.ts'

// PostgreSQL text and jsonb cannot hold U+0000; before the edge check, each of these was a 500.
let t: TestApp
let user: TestUser
beforeAll(async () => {
  t = await createTestApp()
  user = await makeUser(t.app)
})
afterAll(async () => { await t.close() })

const post = (payload: string) => as(user, { method: 'POST', url: '/api/v1/projects', headers: { 'content-type': 'application/json' }, payload })

describe('NUL characters', () => {
  it('refuses a \\u0000 in a body string, a key or a nested payload with a 400, storing nothing', async () => {
    for (const body of ['{"name":"a\\u0000b"}', '{"name":"x","description":"\\u0000"}', '{"name":"x","\\u0000":1}', '{"name":"x","description":"\\\\\\u0000"}']) {
      const res = await t.app.inject(post(body))
      expect(res.statusCode, body).toBe(400)
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      expect(res.json()).toMatchObject({ status: 400, code: 'NUL_CHARACTER' })
    }
    const list = await t.app.inject(as(user, { method: 'GET', url: '/api/v1/projects' }))
    expect(list.json().items).toEqual([])
  })

  it('still accepts the six characters \\u0000 written with an escaped backslash', async () => {
    const res = await t.app.inject(post(JSON.stringify({ name: 'literal \\u0000' })))
    expect(res.statusCode).toBe(201)
    expect(res.json().name).toBe('literal \\u0000')
  })

  it('refuses %00 in a query string or a path with a 400', async () => {
    for (const url of ['/api/v1/projects?q=a%00b', '/api/v1/projects/%00']) {
      const res = await t.app.inject(as(user, { method: 'GET', url }))
      expect(res.statusCode, url).toBe(400)
      expect(res.json()).toMatchObject({ status: 400, code: 'NUL_CHARACTER' })
    }
  })
})
