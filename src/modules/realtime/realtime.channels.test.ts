import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../../lib/ids.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { emit, eventsOf, listen, openSocket, subscribe, type TestSocket } from '../../../test/helpers/realtime.ts'
import { addMember, makeProject, registerAgent, type TestAgent } from '../../../test/helpers/work.ts'

// SECURITY.md WS-02: a subscription is authorised like the matching REST read; a channel one may
// not read is refused with a reason, crafted names are refused, and nothing of it ever arrives.

let t: TestApp
let url: string
let alice: TestUser
let bob: TestUser
let admin: TestUser
let aliceProject: string
let bobProject: string
let aliceAgent: TestAgent

const open = async (options: Parameters<typeof openSocket>[1]): Promise<TestSocket> => {
  const s = await openSocket(url, options)
  await s.next((m) => m.type === 'ready')
  return s
}

beforeAll(async () => {
  t = await createTestApp()
  url = await listen(t.app)
  ;[alice, bob, admin] = await Promise.all([makeUser(t.app), makeUser(t.app), makeUser(t.app, { roles: ['admin'] })])
  aliceProject = await makeProject(t.app, alice)
  bobProject = await makeProject(t.app, bob)
  aliceAgent = await registerAgent(t.app, alice, { projectId: aliceProject })
})
afterAll(async () => { await t.close() })

describe('WS-02: channel names', () => {
  const crafted = (): Array<[string, string]> => [
    ['project:*', 'CHANNEL_INVALID'],
    ['project:../x', 'CHANNEL_INVALID'],
    [`project:${aliceProject}/..`, 'CHANNEL_INVALID'],
    [`project:${aliceProject.toUpperCase()}`, 'CHANNEL_INVALID'],
    [`project:${aliceProject} `, 'CHANNEL_INVALID'],
    [`project:${aliceProject}:x`, 'CHANNEL_INVALID'],
    [`PROJECT:${aliceProject}`, 'CHANNEL_INVALID'],
    ['project:', 'CHANNEL_INVALID'],
    ['project', 'CHANNEL_INVALID'],
    ['*', 'CHANNEL_INVALID'],
    ['user:*', 'CHANNEL_INVALID'],
    ['admin:*', 'CHANNEL_INVALID'],
    ['admins', 'CHANNEL_INVALID'],
    [`task:${newId()}`, 'CHANNEL_INVALID'],
    [`execution:${newId()}`, 'CHANNEL_INVALID'],
    ['frontend:web', 'CHANNEL_INVALID'],
    ['frontend:web:*', 'CHANNEL_INVALID'],
    ['frontend:Web:x', 'CHANNEL_INVALID'],
    ['frontend:web:x', 'CHANNEL_NOT_FOUND'],
    ['__proto__', 'CHANNEL_INVALID'],
    ['constructor', 'CHANNEL_INVALID'],
    [`project:${'a'.repeat(300)}`, 'CHANNEL_INVALID']
  ]

  it('refuses crafted names with a reason, never an exception, and the socket goes on', async () => {
    const s = await open({ token: bob.accessToken })
    for (const [channel, code] of crafted()) {
      const answer = await subscribe(s, channel)
      expect(answer, channel).toMatchObject({ type: 'error', code, message: expect.any(String) })
      // A 300-character name is not echoed back.
      if (channel.length <= 200) expect(answer.channel).toBe(channel)
    }
    s.send({ type: 'ping' })
    await s.next((m) => m.type === 'pong')
    s.ws.close()
  })

  it('refuses malformed messages', async () => {
    const s = await open({ token: bob.accessToken })
    const bad = ['nope', '[]', '{"type":"subscribe"}', '{"type":"subscribe","channel":""}', '{"type":"subscribe","channel":7}',
      '{"type":"subscribe","channel":"admin","extra":1}', '{"type":"subscribe","channel":"admin","lastEventId":"x"}', '{"type":"hello"}', '{"type":"toString"}']
    for (const text of bad) s.send(text)
    await s.next(() => s.messages.filter((m) => m.type === 'error').length === bad.length)
    expect(s.messages.filter((m) => m.type === 'error').every((m) => m.code === 'BAD_MESSAGE')).toBe(true)
    s.ws.close()
  })
})

describe('WS-02: channel authorisation, like the REST reads', () => {
  type Row = [string, () => Promise<TestSocket>, () => string, string]
  const asBob = () => open({ token: bob.accessToken })
  const asAlice = () => open({ token: alice.accessToken })
  const asAdmin = () => open({ token: admin.accessToken })
  const asAgent = () => open({ headers: { 'x-api-key': aliceAgent.apiKey } })
  const table: Row[] = [
    ['bob on user:<alice>', asBob, () => `user:${alice.id}`, 'CHANNEL_NOT_FOUND'],
    ['bob on project:<alice\'s>', asBob, () => `project:${aliceProject}`, 'CHANNEL_NOT_FOUND'],
    ['bob on project:<missing>', asBob, () => `project:${newId()}`, 'CHANNEL_NOT_FOUND'],
    ['bob on agent:<alice\'s>', asBob, () => `agent:${aliceAgent.id}`, 'CHANNEL_NOT_FOUND'],
    ['bob on admin', asBob, () => 'admin', 'CHANNEL_FORBIDDEN'],
    ['the agent on project:<its own>', asAgent, () => `project:${aliceProject}`, 'CHANNEL_FORBIDDEN'],
    ['the agent on user:<its owner>', asAgent, () => `user:${alice.id}`, 'CHANNEL_FORBIDDEN'],
    ['the agent on agent:<another>', asAgent, () => `agent:${newId()}`, 'CHANNEL_NOT_FOUND'],
    ['bob on user:<bob>', asBob, () => `user:${bob.id}`, 'subscribed'],
    ['bob on project:<bob\'s>', asBob, () => `project:${bobProject}`, 'subscribed'],
    ['alice on agent:<alice\'s>', asAlice, () => `agent:${aliceAgent.id}`, 'subscribed'],
    ['the agent on agent:<itself>', asAgent, () => `agent:${aliceAgent.id}`, 'subscribed'],
    ['admin on admin', asAdmin, () => 'admin', 'subscribed'],
    ['admin on project:<alice\'s>', asAdmin, () => `project:${aliceProject}`, 'subscribed'],
    ['admin on user:<alice>', asAdmin, () => `user:${alice.id}`, 'subscribed'],
    ['admin on agent:<alice\'s>', asAdmin, () => `agent:${aliceAgent.id}`, 'subscribed']
  ]

  it.each(table)('%s → %s', async (_name, connect, name, expected) => {
    const s = await connect()
    const channel = name()
    const answer = await subscribe(s, channel)
    if (expected === 'subscribed') expect(answer).toEqual({ type: 'subscribed', channel })
    else expect(answer).toMatchObject({ type: 'error', code: expected, channel })
    s.ws.close()
  })

  it('gives another user\'s resource and a missing one the same refusal', async () => {
    const s = await asBob()
    const theirs = await subscribe(s, `project:${aliceProject}`)
    const missing = await subscribe(s, `project:${newId()}`)
    expect({ ...theirs, channel: undefined }).toEqual({ ...missing, channel: undefined })
    s.ws.close()
  })
})

describe('WS-02: no event leaks', () => {
  it('sends bob nothing of alice\'s while alice generates events on every channel he tried', async () => {
    const spy = await open({ token: bob.accessToken })
    const owner = await open({ token: alice.accessToken })
    const theirs = [`user:${alice.id}`, `project:${aliceProject}`, `agent:${aliceAgent.id}`, 'admin']
    for (const channel of theirs) expect((await subscribe(spy, channel)).type).toBe('error')
    for (const channel of ['project:*', 'user:*', '*']) await subscribe(spy, channel)
    await subscribe(spy, `user:${bob.id}`)
    for (const channel of theirs.slice(0, 3)) expect((await subscribe(owner, channel)).type).toBe('subscribed')
    // Real module events (a project update, an agent change) and recorded ones on every channel.
    await t.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/projects/${aliceProject}`, payload: { name: 'renamed' } }))
    await t.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/agents/${aliceAgent.id}`, payload: { name: 'renamed' } }))
    for (const channel of theirs) await emit(t.app, { type: 'test.secret', channels: [channel], data: { secret: 'alice' } })
    // A marker on bob's own channel, published after everything: once it arrives, all the rest was fanned out.
    await emit(t.app, { type: 'test.marker', channels: [`user:${bob.id}`] })
    await spy.next((m) => m.type === 'event' && m.event === 'test.marker')
    await owner.next(() => eventsOf(owner).filter((m) => m.event === 'test.secret').length === 3)
    expect(eventsOf(spy).map((m) => m.event)).toEqual(['test.marker'])
    expect(JSON.stringify(spy.messages)).not.toContain('alice')
    expect(eventsOf(owner).map((m) => m.event)).toEqual(expect.arrayContaining(['project.updated', 'agent.updated']))
    spy.ws.close()
    owner.ws.close()
  })

  it('ends a subscription when access to the channel ends (member removed), before the next event', async () => {
    const watcher = await open({ token: bob.accessToken })
    await subscribe(watcher, `user:${bob.id}`)
    await addMember(t.app, alice, aliceProject, bob, 'viewer')
    expect((await subscribe(watcher, `project:${aliceProject}`)).type).toBe('subscribed')
    await emit(t.app, { type: 'test.visible', channels: [`project:${aliceProject}`] })
    await watcher.next((m) => m.event === 'test.visible')
    const removed = await t.app.inject(as(alice, { method: 'DELETE', url: `/api/v1/projects/${aliceProject}/members/${bob.id}` }))
    expect(removed.statusCode, removed.body).toBe(204)
    await emit(t.app, { type: 'test.after_removal', channels: [`project:${aliceProject}`] })
    expect(await watcher.next((m) => m.type === 'unsubscribed')).toMatchObject({ channel: `project:${aliceProject}`, reason: expect.any(String) })
    await emit(t.app, { type: 'test.marker', channels: [`user:${bob.id}`] })
    await watcher.next((m) => m.event === 'test.marker')
    expect(eventsOf(watcher).map((m) => m.event)).not.toContain('test.after_removal')
    watcher.ws.close()
  })

  it('ends a removed member\'s subscriptions to the project\'s agents too, before the next agent event', async () => {
    await addMember(t.app, alice, aliceProject, bob, 'viewer')
    const watcher = await open({ token: bob.accessToken })
    await subscribe(watcher, `user:${bob.id}`)
    expect((await subscribe(watcher, `agent:${aliceAgent.id}`)).type).toBe('subscribed')
    const removed = await t.app.inject(as(alice, { method: 'DELETE', url: `/api/v1/projects/${aliceProject}/members/${bob.id}` }))
    expect(removed.statusCode, removed.body).toBe(204)
    // agent events are shown on agent:<id> and project:<id>, never on the membership's channels
    await t.app.inject(as(alice, { method: 'PATCH', url: `/api/v1/agents/${aliceAgent.id}`, payload: { name: 'after-removal' } }))
    await emit(t.app, { type: 'test.after_removal', channels: [`agent:${aliceAgent.id}`] })
    expect(await watcher.next((m) => m.type === 'unsubscribed')).toMatchObject({ channel: `agent:${aliceAgent.id}`, reason: expect.any(String) })
    await emit(t.app, { type: 'test.marker', channels: [`user:${bob.id}`] })
    await watcher.next((m) => m.event === 'test.marker')
    expect(eventsOf(watcher).map((m) => m.event)).not.toContain('test.after_removal')
    expect(JSON.stringify(watcher.messages)).not.toContain('after-removal')
    watcher.ws.close()
  })

  it('delivers an event shown on two subscribed channels once on each, and unsubscribe stops it', async () => {
    const s = await open({ token: alice.accessToken })
    await subscribe(s, `user:${alice.id}`)
    await subscribe(s, `project:${aliceProject}`)
    await emit(t.app, { type: 'test.both', channels: [`project:${aliceProject}`, `user:${alice.id}`, `project:${aliceProject}`] })
    await s.next(() => eventsOf(s).filter((m) => m.event === 'test.both').length === 2)
    const both = eventsOf(s).filter((m) => m.event === 'test.both')
    expect(both.map((m) => m.channel).sort()).toEqual([`project:${aliceProject}`, `user:${alice.id}`].sort())
    expect(both[0]!.id).toBe(both[1]!.id)
    expect(both[0]).toEqual({ type: 'event', channel: expect.any(String), id: expect.any(String), event: 'test.both', data: {}, at: expect.any(String) })
    s.send({ type: 'unsubscribe', channel: `project:${aliceProject}` })
    await s.next((m) => m.type === 'unsubscribed')
    await emit(t.app, { type: 'test.after', channels: [`project:${aliceProject}`, `user:${alice.id}`] })
    await s.next((m) => m.event === 'test.after')
    expect(eventsOf(s).filter((m) => m.event === 'test.after').map((m) => m.channel)).toEqual([`user:${alice.id}`])
    s.ws.close()
  })
})

describe('a frontend\'s channel namespace (issue 6)', () => {
  it('is readable only by sessions signed in through that frontend, and carries its broadcasts', async () => {
    const create = async (name: string, origin: string) => {
      const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name, origins: [origin] } }))
      expect(res.statusCode, res.body).toBe(201)
      return (res.json() as { apiKey: string }).apiKey
    }
    const webKey = await create('web', 'http://web.example.test')
    const adminKey = await create('backoffice', 'http://backoffice.example.test')
    const signIn = async (user: TestUser, key: string) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'x-frontend-key': key }, payload: { email: user.email, password: user.password } })
      expect(res.statusCode, res.body).toBe(200)
      return (res.json() as { accessToken: string }).accessToken
    }
    const viaWeb = await open({ token: await signIn(alice, webKey) })
    const viaBackoffice = await open({ token: await signIn(bob, adminKey) })
    const direct = await open({ token: admin.accessToken })
    expect(await subscribe(viaWeb, 'frontend:web:news')).toMatchObject({ type: 'subscribed' })
    for (const s of [viaBackoffice, direct]) expect(await subscribe(s, 'frontend:web:news')).toMatchObject({ type: 'error', code: 'CHANNEL_NOT_FOUND' })
    await emit(t.app, { type: 'frontend.broadcast', channels: ['frontend:web:news'], data: { headline: 'hello web' } })
    await viaWeb.next((m) => m.type === 'event' && m.channel === 'frontend:web:news')
    expect(eventsOf(viaBackoffice)).toHaveLength(0)
    expect(eventsOf(direct)).toHaveLength(0)
    for (const s of [viaWeb, viaBackoffice, direct]) s.ws.close()
  })
})
