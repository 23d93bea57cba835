import { describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { violations, type Operation } from '../helpers/fuzz.ts'

// The fuzz tests are only as good as their oracle: each rule must fire on a reply that breaks it.
const op: Operation = {
  method: 'GET',
  path: '/api/v1/things/{id}',
  operationId: 'getThing',
  secured: true,
  parameters: [],
  responses: {
    200: { content: { 'application/json': { schema: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } }, additionalProperties: false } } } },
    404: {}
  }
}
const ID = '01a23cef-5885-75e0-bce5-13b863c10681'
const PROBLEM = 'application/problem+json; charset=utf-8'

function reply (statusCode: number, body: unknown, type = 'application/json; charset=utf-8'): LightMyRequestResponse {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  return { statusCode, body: text, headers: { 'content-type': type }, json: () => JSON.parse(text) } as unknown as LightMyRequestResponse
}
const judge = (res: LightMyRequestResponse, sent = { identity: 'user', valid: true, text: '', why: 'test' }, secrets: string[] = []) => violations(op, sent, res, secrets)

describe('the fuzz oracle', () => {
  it('passes a conforming 2xx and a conforming problem', () => {
    expect(judge(reply(200, { id: ID }))).toEqual([])
    expect(judge(reply(404, { status: 404, code: 'NOT_FOUND' }, PROBLEM))).toEqual([])
  })

  it('flags a 5xx, an undocumented status, a 4xx that is not problem+json or has the wrong status or no code', () => {
    expect(judge(reply(500, { status: 500, code: 'INTERNAL' }, PROBLEM)).join()).toMatch(/server error/)
    expect(judge(reply(418, { status: 418, code: 'TEAPOT' }, PROBLEM)).join()).toMatch(/undocumented status/)
    expect(judge(reply(404, { error: 'nope' })).join()).toMatch(/not problem\+json/)
    expect(judge(reply(404, { status: 400, code: 'X' }, PROBLEM)).join()).toMatch(/malformed problem/)
    expect(judge(reply(404, { status: 404 }, PROBLEM)).join()).toMatch(/malformed problem/)
  })

  it('flags a 2xx that breaks its schema, accepts invalid input, or works without credentials', () => {
    expect(judge(reply(200, { id: ID, passwordHashed: 1 })).join()).toMatch(/does not match its schema/)
    expect(judge(reply(200, { id: 'nope' })).join()).toMatch(/does not match its schema/)
    expect(judge(reply(200, { id: ID }), { identity: 'user', valid: false, text: '', why: 'bad' }).join()).toMatch(/invalid input accepted/)
    expect(judge(reply(200, { id: ID }), { identity: 'anonymous', valid: true, text: '', why: 'anon' }).join()).toMatch(/works without credentials/)
  })

  it('flags secrets: hash markers and the secrets the test made, unless the request carried them', () => {
    expect(judge(reply(404, { status: 404, code: 'X', detail: '$argon2id$v=19$m=19456' }, PROBLEM)).join()).toMatch(/leaks/)
    expect(judge(reply(200, { id: ID }), undefined, [ID]).join()).toMatch(/leaks/)
    expect(judge(reply(200, { id: ID }), { identity: 'user', valid: true, text: `/api/v1/things/${ID}`, why: 'own id' }, [ID])).toEqual([])
  })
})
