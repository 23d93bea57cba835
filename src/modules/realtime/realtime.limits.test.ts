import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../../lib/ids.ts'
import { createRealtimeClient, type RealtimeState } from '../../../sdk/realtime.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { eventsOf, listen, openSocket, refusal, relay, subscribe, type TestSocket } from '../../../test/helpers/realtime.ts'

// SECURITY.md decision 11 and WS-04: every bound is enforced on a real socket.

let t: TestApp
let url: string
let alice: TestUser
let admin: TestUser

const open = async (user: TestUser = alice): Promise<TestSocket> => {
  const s = await openSocket(url, { token: user.accessToken })
  await s.next((m) => m.type === 'ready')
  return s
}
// Retained memory is measured after a full collection: the 48 MiB the test pushes through the
// database, pubsub and JSON in this same process would otherwise show up as garbage.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const retained = () => {
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

beforeAll(async () => {
  t = await createTestApp()
  url = await listen(t.app)
  alice = await makeUser(t.app)
  admin = await makeUser(t.app, { roles: ['admin'] })
})
afterAll(async () => { await t.close() })

describe('WS-04: message size', () => {
  it('closes the socket with 1009 on a 70 KiB frame', async () => {
    const s = await open()
    s.send({ type: 'subscribe', channel: 'x'.repeat(70 * 1024) })
    expect((await s.closed).code).toBe(1009)
  })

  it('accepts a frame just under 64 KiB (and refuses its channel name)', async () => {
    const s = await open()
    const answer = await subscribe(s, 'x'.repeat(60 * 1024))
    expect(answer).toMatchObject({ type: 'error', code: 'CHANNEL_INVALID' })
    s.ws.close()
  })

  it('closes the socket with 1003 on a binary frame', async () => {
    const s = await open()
    s.ws.send(Buffer.from('{"type":"ping"}'))
    expect((await s.closed).code).toBe(1003)
  })
})

describe('WS-04: subscriptions per socket', () => {
  it('refuses the 101st subscription and keeps the 100', async () => {
    const s = await open(admin)
    const channels = Array.from({ length: 101 }, () => `user:${newId()}`)
    // 40 at a time, under the message rate limit.
    for (let i = 0; i < 100; i += 40) {
      for (const channel of channels.slice(i, Math.min(i + 40, 100))) s.send({ type: 'subscribe', channel })
      await sleep(1000)
    }
    await s.next(() => s.messages.filter((m) => m.type === 'subscribed').length === 100)
    expect(await subscribe(s, channels[100]!)).toMatchObject({ type: 'error', code: 'SUBSCRIPTION_LIMIT', channel: channels[100] })
    // Unsubscribing frees a place.
    s.send({ type: 'unsubscribe', channel: channels[0] })
    expect(await subscribe(s, channels[100]!)).toMatchObject({ type: 'subscribed' })
    s.ws.close()
  })
})

describe('WS-04: sockets per user', () => {
  it('refuses the 21st socket of a user (429) and no one else\'s', async () => {
    const user = await makeUser(t.app)
    const sockets = await Promise.all(Array.from({ length: 20 }, () => open(user)))
    expect((await refusal(url, { token: user.accessToken })).body).toMatchObject({ status: 429, code: 'REALTIME_SOCKET_LIMIT' })
    const other = await open()
    other.ws.close()
    sockets[0]!.ws.close()
    await sockets[0]!.closed
    await sleep(50)
    const again = await open(user)
    for (const s of [...sockets, again]) s.ws.close()
  })
})

describe('sockets per user, with their API keys', () => {
  it('counts a user\'s API keys towards the user\'s 20: more keys hold no more sockets', async () => {
    const user = await makeUser(t.app)
    const keys: string[] = []
    for (const name of ['k1', 'k2']) {
      const res = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/api-keys', payload: { name, scopes: ['project:read'] } }))
      expect(res.statusCode, res.body).toBe(201)
      keys.push((res.json() as { key: string }).key)
    }
    const viaKey = async (key: string) => {
      const s = await openSocket(url, { headers: { 'x-api-key': key } })
      await s.next((m) => m.type === 'ready')
      return s
    }
    const sockets = [...await Promise.all(Array.from({ length: 10 }, () => viaKey(keys[0]!))), ...await Promise.all(Array.from({ length: 10 }, () => viaKey(keys[1]!)))]
    expect((await refusal(url, { headers: { 'x-api-key': keys[1]! } })).body).toMatchObject({ status: 429, code: 'REALTIME_SOCKET_LIMIT' })
    expect((await refusal(url, { token: user.accessToken })).body).toMatchObject({ status: 429, code: 'REALTIME_SOCKET_LIMIT' })
    for (const s of sockets) s.ws.close()
  })
})

describe('WS-04: message rate', () => {
  it('ignores messages past 50/s with an error, and closes a flooding socket with 1008', async () => {
    const s = await open()
    for (let i = 0; i < 60; i++) s.send({ type: 'ping' })
    expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: 'RATE_LIMITED' })
    await s.next(() => s.messages.filter((m) => m.type === 'pong').length === 50)
    await sleep(1100)
    // The next second has a fresh budget.
    s.send({ type: 'ping' })
    await s.next(() => s.messages.filter((m) => m.type === 'pong').length === 51)
    for (let i = 0; i < 1000; i++) s.send({ type: 'ping' })
    expect(await s.closed).toEqual({ code: 1008, reason: 'message rate exceeded' })
  })

  it('cuts a flood of WebSocket ping frames too', async () => {
    const s = await open()
    const before = t.app.realtime.sockets()
    for (let i = 0; i < 200; i++) s.ws.ping()
    // Our rate limit counts ping frames; `ws` itself cuts a peer with 60 pongs pending (1006).
    expect([1006, 1008]).toContain((await s.closed).code)
    expect(t.app.realtime.sockets()).toBe(before - 1)
  })
})

describe('WS-04: slow consumers', () => {
  it('drops a socket that stops reading once its send buffer passes 1 MiB; others get everything; memory stays bounded', async () => {
    const channel = `user:${alice.id}`
    await relay(t.app)
    // The reader only counts (keeping 48 MiB of messages would measure the test, not the server).
    const reader = new WebSocket(url, ['bearer', alice.accessToken])
    let received = 0
    let inOrder = true
    reader.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string, event?: string, data?: { j: number } }
      if (m.type === 'ready') reader.send(JSON.stringify({ type: 'subscribe', channel }))
      if (m.event !== 'test.big') return
      if (m.data?.j !== received) inOrder = false
      received++
    })
    await new Promise((resolve) => reader.once('message', () => reader.once('message', resolve)))
    const known = new Set(t.app.websocketServer.clients)
    const stalled = await open()
    const serverSide = [...t.app.websocketServer.clients].find((c) => !known.has(c))!
    await subscribe(stalled, channel)
    const socketsBefore = t.app.realtime.sockets()
    stalled.ws.pause()
    const before = retained()
    const rssBefore = process.memoryUsage().rss
    const pad = 'x'.repeat(16 * 1024)
    const total = 3000 // 48 MiB of events
    for (let i = 0; i < total; i += 250) {
      await t.app.db.transaction(async (tx) => {
        for (let j = i; j < i + 250; j++) await t.app.events.record({ type: 'test.big', aggregate: channel, channels: [channel], data: { j, pad } }, tx)
      })
      await relay(t.app)
    }
    const started = Date.now()
    const allReceived = () => received === total
    while (!allReceived() && Date.now() - started < 20_000) await sleep(20)
    expect(received).toBe(total)
    expect(inOrder).toBe(true)
    // The server cut the stalled socket: it is gone from the node, and the client sees it once it reads again.
    expect(t.app.realtime.sockets()).toBe(socketsBefore - 1)
    expect(serverSide.readyState).toBe(serverSide.CLOSED)
    // It was cut as soon as its buffer passed 1 MiB (by less than one message).
    const drop = t.logs.lines().find((l) => l.msg === 'realtime: slow consumer dropped') as { buffered: number }
    expect(drop.buffered).toBeGreaterThan(1024 * 1024)
    expect(drop.buffered).toBeLessThan(1024 * 1024 + 20 * 1024)
    // …and counted on /metrics.
    const dropped = await t.app.metrics.getSingleMetric('backplane_realtime_messages_dropped_total')?.get()
    expect(dropped?.values.find((v) => v.labels.reason === 'slow_consumer')?.value).toBeGreaterThanOrEqual(1)
    const grown = (retained() - before) / 1024 / 1024
    const rss = (process.memoryUsage().rss - rssBefore) / 1024 / 1024
    console.info(`slow consumer: cut at ${(drop.buffered / 1024).toFixed(0)} KiB buffered; retained memory grew ${grown.toFixed(1)} MiB (RSS ${rss.toFixed(1)} MiB) while ${(total * pad.length / 1024 / 1024).toFixed(0)} MiB were published`)
    // Had the stalled socket been kept, it would hold ~47 MiB of unsent events. What this process
    // retains besides (test logs, pools, JIT) varies by ~10 MiB from run to run on a busy machine,
    // so the bound is half of what a kept socket would hold.
    expect(grown).toBeLessThan(24)
    stalled.ws.resume()
    expect((await stalled.closed).code).toBe(1006)
    expect(eventsOf(stalled).length).toBeLessThan(total / 4)
    reader.close()
  })
})

describe('WS-04: memory per socket', () => {
  it('keeps nothing of the upgrade request once the socket is open: the request can be collected, the socket still works', async () => {
    let upgrade: WeakRef<object> | undefined
    const capture = (_ws: unknown, req: object) => { upgrade = new WeakRef(req) }
    t.app.websocketServer.once('connection', capture)
    const s = await open()
    expect(upgrade).toBeDefined()
    // Its HTTP exchange was logged when the socket opened, as one request line with status 101.
    const line = t.logs.lines().find((l) => l.msg === 'request' && l.status === 101)
    expect(line).toMatchObject({ method: 'GET', route: '/api/v1/realtime', status: 101 })
    for (let i = 0; i < 5 && upgrade!.deref() !== undefined; i++) {
      await sleep(20)
      gc()
    }
    // Held, the request (with its Fastify request, reply, logger and the token in its headers)
    // stayed alive as long as the socket: ~6 KB a socket, 300 MB at 50 000 sockets.
    expect(upgrade!.deref()).toBeUndefined()
    s.send({ type: 'ping' })
    await s.next((m) => m.type === 'pong')
    // Re-authentication works without the request (it keeps a small view of it).
    s.send({ type: 'auth', token: alice.accessToken })
    expect(await s.next((m) => m.type === 'authenticated' || m.type === 'error')).toMatchObject({ type: 'authenticated' })
    s.ws.close()
  })
})

describe('keep-alive', () => {
  it('cuts a socket that stopped answering pings', async () => {
    const s = await openSocket(url, { token: alice.accessToken })
    await s.next((m) => m.type === 'ready')
    // A peer that is gone answers no ping: ws stops answering when autoPong is off.
    ;(s.ws as unknown as { _autoPong: boolean })._autoPong = false
    t.app.realtime.heartbeat()
    await sleep(100)
    expect(s.ws.readyState).toBe(s.ws.OPEN)
    t.app.realtime.heartbeat()
    expect((await s.closed).code).toBe(1006)
  })

  it('keeps a socket that answers', async () => {
    const s = await open()
    t.app.realtime.heartbeat()
    await sleep(100)
    t.app.realtime.heartbeat()
    await sleep(100)
    expect(s.ws.readyState).toBe(s.ws.OPEN)
    s.ws.close()
  })
})

describe('shutdown', () => {
  it('closes every socket with 1001, and the sdk client reconnects elsewhere', async () => {
    const node = await createTestApp()
    const nodeUrl = await listen(node.app)
    const user = await makeUser(node.app)
    const s = await openSocket(nodeUrl, { token: user.accessToken })
    await s.next((m) => m.type === 'ready')
    const states: Array<{ state: RealtimeState, code?: number }> = []
    const client = createRealtimeClient({ url: nodeUrl, token: user.accessToken, WebSocket, backoff: { initialMs: 10_000 }, onStateChange: (state, detail) => states.push({ state, code: detail?.code }) })
    await client.subscribe(`user:${user.id}`, () => {}).ready
    await node.close()
    expect(await s.closed).toEqual({ code: 1001, reason: 'server shutting down' })
    expect(states).toContainEqual({ state: 'reconnecting', code: 1001 })
    client.close()
  })
})
