import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Type } from 'typebox'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { defineModule } from './modules.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const probe = defineModule({
  name: 'probe',
  plugin: async (app) => {
    app.get('/probe/ok', async (request) => {
      request.log.info({ step: 'inside' }, 'handler ran')
      return { id: request.id }
    })
    app.get('/probe/crash', async () => { throw new Error('kaboom') })
    app.post('/probe/strict', {
      schema: { body: Type.Object({ name: Type.String({ maxLength: 5 }) }, { additionalProperties: false }) }
    }, async (request) => request.body)
  }
})

let t: TestApp
beforeAll(async () => { t = await createTestApp({ modules: [probe] }) })
afterAll(async () => { await t.close() })

function linesFor (requestId: string) {
  return t.logs.lines().filter((l) => l.requestId === requestId)
}

describe('X-Request-ID', () => {
  const wellFormed = ['abc-123', 'trace.id:42_x', 'a', 'x'.repeat(128), '0190d3c2-7b1e-7cc0-9a55-0a4b8f1e2d3c']
  for (const id of wellFormed) {
    it(`echoes a well-formed id (${id.slice(0, 20)}, ${id.length} chars) and logs it`, async () => {
      const res = await t.app.inject({ method: 'GET', url: '/probe/ok', headers: { 'x-request-id': id } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-request-id']).toBe(id)
      expect(res.json()).toEqual({ id })
      const lines = linesFor(id)
      expect(lines.map((l) => l.msg)).toEqual(['handler ran', 'request'])
      expect(lines[1]).toMatchObject({ method: 'GET', url: '/probe/ok', route: '/probe/ok', status: 200 })
    })
  }

  const malformed: Array<[string, string]> = [
    ['too long', 'x'.repeat(129)],
    ['with spaces', 'abc def'],
    ['with a newline', 'abc\ndef'],
    ['with a CR LF and a fake log line', 'abc\r\n{"level":30,"msg":"forged"}'],
    ['with a quote', 'abc"def'],
    ['with unicode', 'abcé'],
    ['with a slash', 'a/b'],
    ['empty', '']
  ]
  for (const [name, id] of malformed) {
    it(`replaces a malformed id (${name}) with a generated UUID`, async () => {
      const res = await t.app.inject({ method: 'GET', url: '/probe/ok', headers: { 'x-request-id': id } })
      expect(res.statusCode).toBe(200)
      const given = String(res.headers['x-request-id'])
      expect(given).toMatch(UUID)
      expect(res.json()).toEqual({ id: given })
      expect(linesFor(given)).toHaveLength(2)
      if (id) expect(t.logs.lines().some((l) => l.requestId === id)).toBe(false)
      expect(t.logs.text()).not.toContain('forged')
    })
  }

  it('generates a fresh UUID v7 per request when none is sent', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/probe/ok' })
    const b = await t.app.inject({ method: 'GET', url: '/probe/ok' })
    expect(String(a.headers['x-request-id'])).toMatch(UUID)
    expect(String(b.headers['x-request-id'])).toMatch(UUID)
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id'])
  })

  it('generates a fresh id when the header is repeated', async () => {
    // Node joins a repeated X-Request-ID with ", ", which is not well-formed: neither value is trusted.
    const res = await t.app.inject({ method: 'GET', url: '/probe/ok', headers: { 'x-request-id': ['first-id', 'second-id'] } })
    expect(String(res.headers['x-request-id'])).toMatch(UUID)
    expect(t.logs.lines().some((l) => String(l.requestId).includes('first-id'))).toBe(false)
  })
})

describe('request id in error bodies', () => {
  const cases = [
    { name: '404', req: { method: 'GET' as const, url: '/no/such/route' }, status: 404 },
    { name: '400 validation', req: { method: 'POST' as const, url: '/probe/strict', payload: { name: 'toolong' } }, status: 400 },
    { name: '400 bad JSON', req: { method: 'POST' as const, url: '/probe/strict', headers: { 'content-type': 'application/json' }, payload: '{' }, status: 400 },
    { name: '415', req: { method: 'POST' as const, url: '/probe/strict', headers: { 'content-type': 'text/plain' }, payload: 'x' }, status: 415 },
    { name: '500', req: { method: 'GET' as const, url: '/probe/crash' }, status: 500 }
  ]
  for (const c of cases) {
    it(`carries the client's id in a ${c.name} problem+json body and log line`, async () => {
      const id = `err-${c.status}-${c.name.replaceAll(' ', '-')}`
      const res = await t.app.inject({ ...c.req, headers: { ...c.req.headers, 'x-request-id': id } })
      expect(res.statusCode).toBe(c.status)
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      expect(res.headers['x-request-id']).toBe(id)
      expect(res.json().requestId).toBe(id)
      const requestLines = linesFor(id).filter((l) => l.msg === 'request')
      expect(requestLines).toHaveLength(1)
      expect(requestLines[0]).toMatchObject({ status: c.status, level: c.status >= 500 ? 50 : 30 })
    })
  }

  it('carries a generated id in the body when the client sent none', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/crash' })
    const id = String(res.headers['x-request-id'])
    expect(id).toMatch(UUID)
    expect(res.json().requestId).toBe(id)
    expect(linesFor(id).map((l) => l.msg)).toEqual(['request failed', 'request'])
  })
})

describe('one log line per request', () => {
  it('writes exactly one "request" line per request and none of Fastify\'s own', async () => {
    const before = t.logs.lines().length
    const ids: string[] = []
    for (let i = 0; i < 10; i++) {
      const res = await t.app.inject({ method: 'GET', url: `/probe/ok?i=${i}` })
      ids.push(String(res.headers['x-request-id']))
    }
    await t.app.inject({ method: 'GET', url: '/nowhere' })
    const lines = t.logs.lines().slice(before)
    const requestLines = lines.filter((l) => l.msg === 'request')
    expect(requestLines).toHaveLength(11)
    expect(new Set(requestLines.map((l) => l.requestId)).size).toBe(11)
    for (const id of ids) expect(requestLines.filter((l) => l.requestId === id)).toHaveLength(1)
    expect(lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([])
    expect(lines.some((l) => 'reqId' in l)).toBe(false)
  })

  it('gives the request line its fields: method, path without query, route, status, ms, ip', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/ok?secret=abc', headers: { 'x-request-id': 'fields-check' } })
    expect(res.statusCode).toBe(200)
    const line = linesFor('fields-check').find((l) => l.msg === 'request')
    expect(line).toMatchObject({ level: 30, service: 'backplane', method: 'GET', url: '/probe/ok', route: '/probe/ok', status: 200, ip: '127.0.0.1' })
    expect(typeof line?.ms).toBe('number')
    expect(typeof line?.time).toBe('string')
    expect(JSON.stringify(line)).not.toContain('secret=abc')
  })

  it('keeps successful probe requests out of the log (health routes log at warn)', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'probe-live' } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-request-id']).toBe('probe-live')
    expect(linesFor('probe-live')).toEqual([])
  })
})
