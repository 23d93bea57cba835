import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { makeProject } from '../helpers/work.ts'
import type { Resolver } from '../../src/lib/outbound-target.ts'
import { startReceiver, waitFor, type Receiver } from './webhooks-receiver.ts'

// SS-01 and SS-02 with WEBHOOKS_ALLOW_PRIVATE off (the default): a canary HTTP server listens on
// 127.0.0.1 and every attempt to reach it, in any spelling, at create, update or connect time, must
// leave it with zero requests. Host names are resolved by a test resolver (offline machine); names
// it does not know go to the system resolver, so `localhost` is the real hosts-file answer.

let t: TestApp
let owner: TestUser
let projectId: string
let canary: Receiver
const PUBLIC = '93.184.215.14'
const answers = new Map<string, string[]>()
const resolver: Resolver = async (host) => {
  const known = answers.get(host)
  if (!known) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  return known.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
}

const create = (url: string) => t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/webhooks`, payload: { url, eventTypes: ['*'] } }))

async function emit (): Promise<void> {
  await t.app.db.transaction((tx) => t.app.events.record({ type: 'task.created', aggregate: `task:${randomUUID()}`, channels: [`project:${projectId}`], data: {} }, tx))
  await t.app.events.relayOnce()
}

async function lastDelivery (hookId: string) {
  const res = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${hookId}/deliveries` }))
  return (res.json() as { items: Array<{ status: string, attempts: number, lastError: string | null, lastStatusCode: number | null }> }).items[0]
}

beforeAll(async () => {
  t = await createTestApp({ env: { WEBHOOKS_RETRY_SCHEDULE: '1h' } })
  t.app.webhooks.setResolver(async (host) => (answers.has(host) ? resolver(host) : (await import('../../src/lib/outbound-target.ts')).systemResolver(host)))
  owner = await makeUser(t.app)
  projectId = await makeProject(t.app, owner)
  await t.app.events.relayOnce()
  canary = await startReceiver()
  answers.set('loopback.test', ['127.0.0.1'])
  answers.set('mapped.test', ['::ffff:127.0.0.1'])
  answers.set('mixed.test', [PUBLIC, '127.0.0.1'])
  answers.set('metadata.test', ['169.254.169.254'])
})
afterAll(async () => {
  await t.close()
  await canary.close()
})

describe('at create and update (SS-01)', () => {
  const forms = () => {
    const p = canary.port
    return [
      `http://127.0.0.1:${p}/`, `http://127.0.0.2:${p}/`, `http://[::1]:${p}/`, `http://0.0.0.0:${p}/`, `http://0:${p}/`,
      `http://2130706433:${p}/`, `http://0x7f000001:${p}/`, `http://0x7f.1:${p}/`, `http://0177.0.0.1:${p}/`, `http://017700000001:${p}/`, `http://127.1:${p}/`,
      `http://127.0.0.1.:${p}/`, `http://%31%32%37.0.0.1:${p}/`, `http://[::ffff:127.0.0.1]:${p}/`, `http://[::ffff:7f00:1]:${p}/`, `http://[0:0:0:0:0:ffff:7f00:1]:${p}/`,
      `http://[::127.0.0.1]:${p}/`, `http://localhost:${p}/`, `http://LocalHost.:${p}/`, `http://a.b.localhost:${p}/`,
      `http://loopback.test:${p}/`, `http://mapped.test:${p}/`, `http://mixed.test:${p}/`, 'http://metadata.test/', `http://unknown-name.test:${p}/`,
      'http://169.254.169.254/latest/meta-data/iam/', 'http://[fd00:ec2::254]/', 'http://[::ffff:169.254.169.254]/', 'http://[::ffff:a9fe:a9fe]/',
      'http://10.0.0.1/', 'http://172.16.0.1/', 'http://172.31.255.255/', 'http://192.168.1.1/', 'http://100.64.0.1/', 'http://169.254.10.10/',
      'http://[fe80::1]/', 'http://[fc00::1]/', 'http://[fd00::1]/', 'http://224.0.0.1/', 'http://255.255.255.255/',
      `http://evil.test@127.0.0.1:${p}/`, `http://127.0.0.1:${p}@evil.test/`, `http://127.0.0.1:${p}#@evil.test/`,
      'file:///etc/passwd', `gopher://127.0.0.1:${p}/_GET`, `ftp://127.0.0.1:${p}/`, `ws://127.0.0.1:${p}/`, 'dict://127.0.0.1:11211/'
    ]
  }

  it('refuses every internal spelling with 400 and names the url field; the canary gets nothing', async () => {
    const accepted: string[] = []
    for (const url of forms()) {
      const res = await create(url)
      if (res.statusCode !== 400) accepted.push(`${url} → ${res.statusCode}`)
      else expect(res.json().errors[0].path, url).toBe('body.url')
    }
    expect(accepted).toEqual([])
    expect(canary.requests).toHaveLength(0)
    const { rows } = await t.app.dbPool.query('SELECT count(*)::int AS n FROM webhooks')
    expect(rows[0].n).toBe(0)
  })

  it('refuses the same URLs on update', async () => {
    answers.set('public.test', [PUBLIC])
    const made = await create('http://public.test/in')
    expect(made.statusCode).toBe(201)
    const id = made.json().id as string
    for (const url of forms()) {
      const res = await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/webhooks/${id}`, payload: { url } }))
      expect(res.statusCode, url).toBe(400)
    }
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/webhooks/${id}` }))).json().url).toBe('http://public.test/in')
    await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/webhooks/${id}` }))
    expect(canary.requests).toHaveLength(0)
  })
})

describe('at connect time (SS-02)', () => {
  it('re-resolves at every connection: a name that now points at loopback (DNS rebinding) is never connected to', async () => {
    await t.app.queue.start()
    const p = canary.port
    const made: string[] = []
    for (const host of ['rebind-v4.test', 'rebind-v6.test', 'rebind-mixed.test']) {
      answers.set(host, [PUBLIC])
      const res = await create(`http://${host}:${p}/hook`)
      expect(res.statusCode).toBe(201)
      made.push(res.json().id as string)
    }
    answers.set('rebind-v4.test', ['127.0.0.1'])
    answers.set('rebind-v6.test', ['::ffff:7f00:1'])
    answers.set('rebind-mixed.test', [PUBLIC, '127.0.0.1'])
    await emit()
    for (const id of made) {
      const d = await waitFor(async () => { const x = await lastDelivery(id); return x && x.attempts === 1 && x.lastError ? x : undefined }, 10_000, 'a blocked attempt')
      expect(d).toMatchObject({ status: 'pending', lastStatusCode: null })
      expect(d.lastError).toMatch(/^blocked: rebind-.*\.test resolves to .*, which is a loopback, private or link-local address$/)
    }
    expect(canary.requests).toHaveLength(0)
    for (const id of made) await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/webhooks/${id}` }))
  })

  it('checks an IP-literal URL again at delivery (saved before the policy changed)', async () => {
    answers.set('later.test', [PUBLIC])
    const res = await create(`http://later.test:${canary.port}/`)
    const id = res.json().id as string
    // As if saved while WEBHOOKS_ALLOW_PRIVATE was on: sockets skip the lookup for literals.
    await t.app.dbPool.query('UPDATE webhooks SET url = $1 WHERE id = $2', [`http://127.0.0.1:${canary.port}/`, id])
    await emit()
    const d = await waitFor(async () => { const x = await lastDelivery(id); return x && x.attempts === 1 && x.lastError ? x : undefined }, 10_000, 'a blocked attempt')
    expect(d.lastError).toBe('blocked: 127.0.0.1 is a loopback, private or link-local address')
    expect(canary.requests).toHaveLength(0)
  })
})
