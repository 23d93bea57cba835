import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../../lib/ids.ts'
import { createRealtimeClient, type RealtimeEvent, type RealtimeState } from '../../../sdk/realtime.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { adminQuery } from '../../../test/helpers/services.ts'
import { emit, eventsOf, listen, openSocket, relay, subscribe, type TestSocket } from '../../../test/helpers/realtime.ts'
import { makeProject } from '../../../test/helpers/work.ts'

// A client that reconnects with lastEventId gets what it missed from the retention window, in
// order and once; when that is no longer possible it is told (a gap) and carries on live.

let t: TestApp
let url: string
let alice: TestUser
let project: string
let channel: string

const open = async (): Promise<TestSocket> => {
  const s = await openSocket(url, { token: alice.accessToken })
  await s.next((m) => m.type === 'ready')
  return s
}

async function until (check: () => boolean, ms = 5000): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

beforeAll(async () => {
  t = await createTestApp()
  url = await listen(t.app)
  alice = await makeUser(t.app)
  project = await makeProject(t.app, alice)
  channel = `project:${project}`
  await relay(t.app)
})
afterAll(async () => { await t.close() })

describe('resume with lastEventId', () => {
  it('replays what was missed, in order, only of that channel, then goes on live', async () => {
    const first = await open()
    await subscribe(first, channel)
    await emit(t.app, { type: 'test.n', channels: [channel], data: { n: 1 } })
    await emit(t.app, { type: 'test.n', channels: [channel], data: { n: 2 } })
    await first.next(() => eventsOf(first).length === 2)
    const last = eventsOf(first).at(-1)!.id!
    first.ws.close()
    await first.closed
    for (const n of [3, 4, 5]) await emit(t.app, { type: 'test.n', channels: [channel], data: { n } })
    await emit(t.app, { type: 'test.other', channels: [`user:${alice.id}`] })
    const second = await open()
    expect(await subscribe(second, channel, last)).toMatchObject({ type: 'subscribed' })
    await second.next(() => eventsOf(second).length === 3)
    await emit(t.app, { type: 'test.n', channels: [channel], data: { n: 6 } })
    await second.next(() => eventsOf(second).length === 4)
    expect(eventsOf(second).map((m) => m.data?.n)).toEqual([3, 4, 5, 6])
    expect(second.messages.filter((m) => m.type === 'gap')).toEqual([])
    second.ws.close()
  })

  it('says the gap is too old when the event left the retention window, and goes on live', async () => {
    const first = await open()
    await subscribe(first, channel)
    await emit(t.app, { type: 'test.old', channels: [channel] })
    const old = (await first.next((m) => m.event === 'test.old')).id!
    first.ws.close()
    // What the retention prune does to an event past EVENTS_RETENTION_HOURS.
    await adminQuery(t.db.url, 'DELETE FROM outbox WHERE id = $1', [old])
    const second = await open()
    await subscribe(second, channel, old)
    expect(await second.next((m) => m.type === 'gap')).toEqual({ type: 'gap', channel, lastEventId: old })
    await emit(t.app, { type: 'test.live', channels: [channel] })
    await second.next((m) => m.event === 'test.live')
    second.ws.close()
  })

  it('answers an unknown event id with a gap too', async () => {
    const s = await open()
    await subscribe(s, channel, newId())
    expect(await s.next((m) => m.type === 'gap')).toMatchObject({ channel })
    s.ws.close()
  })

  it('answers more than 1000 missed events with a gap instead of a flood', async () => {
    const s = await open()
    await subscribe(s, channel)
    await emit(t.app, { type: 'test.before', channels: [channel] })
    const from = (await s.next((m) => m.event === 'test.before')).id!
    s.ws.close()
    await t.app.db.transaction(async (tx) => {
      for (let i = 0; i < 1001; i++) await t.app.events.record({ type: 'test.many', aggregate: channel, channels: [channel], data: { i } }, tx)
    })
    await relay(t.app)
    const again = await open()
    await subscribe(again, channel, from)
    expect(await again.next((m) => m.type === 'gap')).toMatchObject({ channel, lastEventId: from })
    expect(eventsOf(again)).toEqual([])
    again.ws.close()
  })
})

describe('the sdk client', () => {
  it('reconnects with back-off, re-subscribes and resumes without loss or duplicates', async () => {
    const states: RealtimeState[] = []
    const got: Array<RealtimeEvent<{ n: number }>> = []
    const client = createRealtimeClient({ url, token: async () => alice.accessToken, WebSocket, backoff: { initialMs: 50, maxMs: 200 }, onStateChange: (s) => states.push(s) })
    const sub = client.subscribe<{ n: number }>(channel, (e) => { if (e.event === 'test.sdk') got.push(e) })
    await sub.ready
    await emit(t.app, { type: 'test.sdk', channels: [channel], data: { n: 1 } })
    await until(() => got.length === 1)
    // The server drops every socket (a node restart, a network cut); events keep coming meanwhile.
    for (const socket of t.app.websocketServer.clients) socket.terminate()
    await emit(t.app, { type: 'test.sdk', channels: [channel], data: { n: 2 } })
    await emit(t.app, { type: 'test.sdk', channels: [channel], data: { n: 3 } })
    await until(() => got.length === 3)
    await emit(t.app, { type: 'test.sdk', channels: [channel], data: { n: 4 } })
    await until(() => got.length === 4)
    expect(got.map((e) => e.data.n)).toEqual([1, 2, 3, 4])
    expect(new Set(got.map((e) => e.id)).size).toBe(4)
    expect(client.lastEventId(channel)).toBe(got[3]!.id)
    expect(states).toEqual(expect.arrayContaining(['open', 'reconnecting']))
    client.close()
    expect(client.state).toBe('closed')
  })

  it('uses a fresh one-time ticket for every connection', async () => {
    let tickets = 0
    const getTicket = async () => {
      tickets++
      const res = await t.app.inject(as(alice, { method: 'POST', url: '/api/v1/realtime/ticket' }))
      return (res.json() as { ticket: string }).ticket
    }
    const client = createRealtimeClient({ url, getTicket, WebSocket, backoff: { initialMs: 20, maxMs: 50 } })
    const got: string[] = []
    await client.subscribe(`user:${alice.id}`, (e) => { got.push(e.event) }).ready
    await client.subscribe(channel, (e) => { got.push(e.event) }).ready
    // The user channel has had no event yet: it resumes from the last event of any channel.
    await emit(t.app, { type: 'test.first', channels: [channel] })
    await until(() => got.includes('test.first'))
    for (const socket of t.app.websocketServer.clients) socket.terminate()
    await emit(t.app, { type: 'test.ticket', channels: [`user:${alice.id}`] })
    await until(() => got.includes('test.ticket'))
    expect(got).toEqual(['test.first', 'test.ticket'])
    expect(tickets).toBe(2)
    client.close()
  })

  it('rejects `ready` of a refused subscription with the reason, and reports gaps', async () => {
    const gaps: string[] = []
    const client = createRealtimeClient({ url, token: alice.accessToken, WebSocket, onGap: (ch) => gaps.push(ch) })
    await expect(client.subscribe('admin', () => {}).ready).rejects.toMatchObject({ code: 'CHANNEL_FORBIDDEN', channel: 'admin' })
    await client.subscribe(channel, () => {}, { lastEventId: newId() }).ready
    await until(() => gaps.length === 1)
    expect(gaps).toEqual([channel])
    client.close()
  })
})
