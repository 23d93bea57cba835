import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { newId } from '../../lib/ids.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'

let t: TestApp
let owner: TestUser
let other: TestUser
let ownKey: { id: string, key: string, prefix: string }
// Every key this file was shown, and every reply body it received, for the leak checks at the end.
const shownKeys: string[] = []
const bodies: string[] = []

async function send (options: InjectOptions) {
  const res = await t.app.inject(options)
  bodies.push(res.body)
  return res
}

async function createKey (user: TestUser, scopes: string[] = ['user:read']) {
  const res = await send(as(user, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'sec', scopes } }))
  expect(res.statusCode, res.body).toBe(201)
  const created = res.json() as { id: string, key: string, prefix: string }
  shownKeys.push(created.key)
  return created
}

const withKey = (key: string | string[], url = '/api/v1/admin/users') => send({ method: 'GET', url, headers: { 'x-api-key': key } })

async function storedRow (id: string): Promise<string> {
  const { rows } = await t.app.dbPool.query('SELECT row_to_json(k)::text AS row FROM api_keys k WHERE id = $1', [id])
  return rows[0].row as string
}

beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  owner = await makeUser(t.app, { roles: ['admin'] })
  other = await makeUser(t.app, { roles: ['admin'] })
  ownKey = await createKey(owner)
})
afterAll(async () => { await t.close() })

const routes = (id: string): Array<{ name: string, options: InjectOptions }> => [
  { name: 'create', options: { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'x', scopes: [] } } },
  { name: 'list', options: { method: 'GET', url: '/api/v1/api-keys' } },
  { name: 'get', options: { method: 'GET', url: `/api/v1/api-keys/${id}` } },
  { name: 'revoke', options: { method: 'DELETE', url: `/api/v1/api-keys/${id}` } },
  { name: 'rotate', options: { method: 'POST', url: `/api/v1/api-keys/${id}/rotate` } }
]

describe('access table', () => {
  it.each(routes(newId()))('anonymous $name → 401', async ({ options }) => {
    const res = await send(options)
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('AUTH_REQUIRED')
  })

  it.each([...routes(newId()), { name: 'users/me', options: { method: 'GET', url: '/api/v1/users/me' } as InjectOptions }])(
    'an API key on $name → 403 USER_SESSION_REQUIRED (keys cannot manage keys)', async ({ options }) => {
      const res = await send({ ...options, headers: { 'x-api-key': ownKey.key } })
      expect(res.statusCode).toBe(403)
      expect(res.json().code).toBe('USER_SESSION_REQUIRED')
    })

  it("another user's key id is a 404 with the body of a missing id, and changes nothing", async () => {
    const before = await storedRow(ownKey.id)
    const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined, instance: undefined })
    for (const route of routes(ownKey.id).filter((r) => ['get', 'revoke', 'rotate'].includes(r.name))) {
      const foreign = await send(as(other, route.options))
      const missing = await send(as(other, { ...route.options, url: String(route.options.url).replace(ownKey.id, newId()) }))
      expect(foreign.statusCode, route.name).toBe(404)
      expect(strip(foreign.json())).toEqual(strip(missing.json()))
      expect(foreign.json().code).toBe('API_KEY_NOT_FOUND')
    }
    expect(await storedRow(ownKey.id)).toBe(before)
    expect((await withKey(ownKey.key)).statusCode).toBe(200)
    const list = await send(as(other, { method: 'GET', url: '/api/v1/api-keys' }))
    expect(list.json().items.map((k: { id: string }) => k.id)).not.toContain(ownKey.id)
  })

  it('a malformed id is a 400, not a lookup', async () => {
    const res = await send(as(owner, { method: 'GET', url: "/api/v1/api-keys/1'%20OR%201=1" }))
    expect(res.statusCode).toBe(400)
  })
})

describe('credentials in the wrong place', () => {
  it.each(['api_key', 'apiKey', 'key'])('a valid key in ?%s= is refused with 401 AUTH_CREDENTIALS_IN_URL', async (param) => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await send({ method, url: `/api/v1/api-keys/${ownKey.id}?${param}=${ownKey.key}` })
      expect(res.statusCode).toBe(401)
      expect(res.json().code).toBe('AUTH_CREDENTIALS_IN_URL')
    }
    // Routes with a strict query schema refuse the unknown parameter at validation, before the access check.
    const strict = await send({ method: 'GET', url: `/api/v1/admin/users?${param}=${ownKey.key}` })
    expect(strict.statusCode).toBeGreaterThanOrEqual(400)
    expect(strict.statusCode).toBeLessThan(500)
    expect(strict.body).not.toContain(ownKey.key)
    expect((await withKey(ownKey.key)).statusCode).toBe(200)
  })

  it('a bearer token and an API key together are refused, whichever is valid', async () => {
    expect((await send(as(owner, { method: 'GET', url: '/api/v1/admin/users' }))).statusCode).toBe(200)
    expect((await withKey(ownKey.key)).statusCode).toBe(200)
    for (const key of [ownKey.key, 'bp_garbage']) {
      const res = await send(as(other, { method: 'GET', url: '/api/v1/admin/users', headers: { 'x-api-key': key } }))
      expect(res.statusCode).toBe(400)
      expect(res.json().code).toBe('CREDENTIALS_AMBIGUOUS')
    }
    // Public routes ignore credentials entirely, so both headers there are harmless.
    expect((await send({ method: 'GET', url: '/api/v1/instance', headers: { 'x-api-key': ownKey.key, authorization: `Bearer ${owner.accessToken}` } })).statusCode).toBe(200)
  })
})

describe('garbage and guessed keys', () => {
  const secret = () => randomBytes(32).toString('base64url')
  const cases: Array<[string, () => string | string[]]> = [
    ['unknown prefix', () => `bp_zzzzzzzz_${secret()}`],
    ['right prefix, wrong secret', () => `bp_${ownKey.prefix}_${secret()}`],
    ['one character short', () => ownKey.key.slice(0, -1)],
    ['one character more', () => `${ownKey.key}A`],
    ['uppercase prefix', () => ownKey.key.replace(ownKey.prefix, ownKey.prefix.toUpperCase())],
    ['another vendor', () => `sk_live_${secret()}`],
    ['empty', () => ''],
    ['10 KB', () => `bp_${'a'.repeat(10 * 1024)}`],
    ['non-ascii', () => `bp_ééééééé1_${secret()}`],
    ['non-ascii after a valid key', () => `${ownKey.key.slice(0, -1)}é`],
    ['SQL', () => "bp_' OR 1=1 --_x"],
    ['two headers', () => [ownKey.key, ownKey.key]]
  ]
  it.each(cases)('%s → 401 AUTH_INVALID', async (_name, make) => {
    const res = await withKey(make())
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('AUTH_INVALID')
    expect(res.headers['www-authenticate']).toBeDefined()
  })

  it('raw UTF-8 bytes, control characters and a 10 KB value over a real socket → 401, never 500', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = t.app.server.address() as { port: number }
    const rawStatus = (value: Buffer) => new Promise<number>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1')
      let reply = ''
      socket.on('data', (d) => { reply += d.toString('latin1') })
      socket.on('end', () => { resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1])) })
      socket.on('error', reject)
      socket.end(Buffer.concat([Buffer.from('GET /api/v1/admin/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: '), value, Buffer.from('\r\n\r\n')]))
    })
    const values = [
      Buffer.from(`bp_日本語_${secret()}`, 'utf8'),
      Buffer.from(`bp_${ownKey.prefix}_${'\u00ff'.repeat(43)}`, 'latin1'),
      Buffer.from(`${ownKey.key.slice(0, -1)}\t`, 'latin1'),
      Buffer.from(`bp_${'x'.repeat(10 * 1024)}`)
    ]
    for (const value of values) expect(await rawStatus(value)).toBe(401)
  })

  it('100 guessed well-formed keys in parallel are all 401, never 500', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      withKey(i % 2 ? `bp_${randomBytes(4).toString('hex')}_${secret()}` : `bp_${ownKey.prefix}_${secret()}`)))
    expect(new Set(results.map((r) => r.statusCode))).toEqual(new Set([401]))
  })
})

describe('secrets at rest and in transit', () => {
  it('keys carry 256 random bits and are all different', async () => {
    const keys = await Promise.all(Array.from({ length: 10 }, () => createKey(other, [])))
    for (const { key } of keys) {
      const secretPart = key.slice('bp_'.length + 8 + 1)
      expect(Buffer.from(secretPart, 'base64url').length * 8).toBeGreaterThanOrEqual(128)
      expect(Buffer.from(secretPart, 'base64url').toString('base64url')).toBe(secretPart)
    }
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length)
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(keys.length)
  })

  it('stores only a hash: no column holds the key or its secret', async () => {
    const rotated = (await send(as(owner, { method: 'POST', url: `/api/v1/api-keys/${(await createKey(owner)).id}/rotate` }))).json() as { id: string, key: string }
    shownKeys.push(rotated.key)
    const { rows } = await t.app.dbPool.query('SELECT secret_hash, row_to_json(k)::text AS row FROM api_keys k WHERE id = $1', [rotated.id])
    expect(rows[0].secret_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(rows[0].secret_hash).not.toBe(rotated.key)
    const dump = (await t.app.dbPool.query('SELECT row_to_json(k)::text AS row FROM api_keys k')).rows.map((r) => r.row as string).join('\n')
    for (const key of shownKeys) expect(dump).not.toContain(key.slice(12))
  })

  it('audit rows name the key but never hold it', async () => {
    await t.app.audit.flush()
    const { rows } = await t.app.dbPool.query("SELECT action, row_to_json(a)::text AS row FROM audit_events a WHERE action LIKE 'api_key.%'")
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['api_key.created', 'api_key.rotated']))
    const dump = rows.map((r) => r.row as string).join('\n')
    for (const key of shownKeys) expect(dump).not.toContain(key.slice(12))
  })

  it('no reply body ever held a key after its creation reply, nor any stored hash', async () => {
    const hashes = (await t.app.dbPool.query('SELECT secret_hash FROM api_keys')).rows.map((r) => r.secret_hash as string)
    const createReplies = bodies.filter((b) => b.includes('"key":"bp_'))
    expect(createReplies.length).toBe(shownKeys.length)
    for (const body of bodies) {
      expect(body).not.toMatch(/secret_?hash/i)
      for (const hash of hashes) expect(body).not.toContain(hash)
      if (createReplies.includes(body)) continue
      for (const key of shownKeys) expect(body).not.toContain(key.slice(12))
    }
  })

  it('no log line ever held a key or its hash', async () => {
    const text = t.logs.text()
    expect(text.length).toBeGreaterThan(0)
    for (const key of shownKeys) expect(text).not.toContain(key.slice(12))
    for (const r of (await t.app.dbPool.query('SELECT secret_hash FROM api_keys')).rows) expect(text).not.toContain(r.secret_hash)
  })
})
