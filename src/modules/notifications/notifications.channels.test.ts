import fp from 'fastify-plugin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { emit, relay } from '../../../test/helpers/realtime.ts'
import { addMember, makeProject } from '../../../test/helpers/work.ts'
import { defineModule } from '../../platform/modules.ts'
import type { NotificationDelivery } from './index.ts'

// A channel plugged in through the port exactly as the push module does (a higher module calling
// app.notifications.addChannel), under a name of its own ('push' is the push module's): it receives
// what the type's defaults turn on, after commit, from a job.
const delivered: NotificationDelivery[][] = []
let failNext = 0
const paged = (type: string, pager: boolean) => ({
  type,
  description: `test: ${type}`,
  on: type,
  defaults: { email: false, push: false, pager },
  recipients: async (event: { data: Record<string, unknown> }) => [{ userId: String(event.data.userId), title: `Paged: ${String(event.data.title)}`, body: 'a test page', link: null }]
})
const pagerModule = defineModule({
  name: 'pager',
  plugin: fp(async (app) => {
    app.notifications.addChannel({
      name: 'pager',
      deliver: async (items) => {
        if (failNext > 0) {
          failNext--
          throw new Error('pager service unavailable')
        }
        delivered.push([...items])
      }
    })
    app.notifications.declare(paged('test.paged', true))
    app.notifications.declare(paged('test.unpaged', false))
    // A rule with a bug: its event must not hold the relay (and every later event) back.
    app.notifications.declare({ type: 'test.broken_rule', description: 'throws', on: 'test.boom', defaults: { email: false, push: true }, recipients: async () => { throw new Error('rule bug') } })
  }, { name: 'pager', dependencies: ['notifications'] })
})

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ modules: [pagerModule], env: { NOTIFICATIONS_DIGEST_SECONDS: '0' } })
  await t.app.queue.start()
})
afterAll(async () => { await t.close() })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const to = (userId: string) => delivered.flat().filter((n) => n.userId === userId)

async function deliveredTo (userId: string, count: number, ms = 60_000): Promise<NotificationDelivery[]> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    if (to(userId).length >= count) return to(userId)
    await sleep(100)
  }
  throw new Error(`fewer than ${count} deliveries to ${userId}`)
}

describe('the channel port', () => {
  it('delivers to a plugged-in channel only what the type\'s defaults turn on, with the inbox row\'s fields', async () => {
    const member = await makeUser(t.app)
    await emit(t.app, { type: 'test.unpaged', channels: [`user:${member.id}`], data: { userId: member.id, title: 'quiet' } })
    await sleep(3000)
    expect(to(member.id)).toEqual([])

    await emit(t.app, { type: 'test.paged', channels: [`user:${member.id}`], data: { userId: member.id, title: 'loud' } })
    const [item] = await deliveredTo(member.id, 1)
    const inbox = (await t.app.inject(as(member, { method: 'GET', url: '/api/v1/notifications?limit=1' }))).json() as { items: Array<{ id: string, createdAt: string }> }
    expect(item).toEqual({ id: inbox.items[0]!.id, userId: member.id, type: 'test.paged', title: 'Paged: loud', body: 'a test page', link: null, createdAt: inbox.items[0]!.createdAt })
  })

  it('retries a channel that throws, and then delivers the same notification once', async () => {
    const member = await makeUser(t.app)
    failNext = 1
    await emit(t.app, { type: 'test.paged', channels: [`user:${member.id}`], data: { userId: member.id, title: 'flaky' } })
    const items = await deliveredTo(member.id, 1, 120_000)
    expect(failNext).toBe(0)
    await sleep(2000)
    expect(to(member.id)).toHaveLength(1)
    expect(items[0]!.title).toBe('Paged: flaky')
  })

  it('logs and skips a rule that throws; the relay publishes that event and the ones after it', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    await emit(t.app, { type: 'test.boom', channels: [`user:${member.id}`] })
    await addMember(t.app, owner, await makeProject(t.app, owner, 'After'), member, 'viewer')
    await relay(t.app)
    const inbox = (await t.app.inject(as(member, { method: 'GET', url: '/api/v1/notifications' }))).json() as { items: Array<{ type: string }> }
    expect(inbox.items.map((n) => n.type)).toEqual(['project.member_added'])
    expect(t.logs.text()).toContain('notification rule failed')
  })

  it('refuses a second channel of one name, and a malformed or reserved name, at start-up', () => {
    const channel = (name: string) => ({ name, deliver: async () => {} })
    // 'push' is the push module's (registered before any team module); 'pager' is this test's.
    expect(() => { t.app.notifications.addChannel(channel('push')) }).toThrow(/added twice/)
    expect(() => { t.app.notifications.addChannel(channel('pager')) }).toThrow(/added twice/)
    expect(() => { t.app.notifications.addChannel(channel('in_app')) }).toThrow(/lower-case/)
    expect(() => { t.app.notifications.addChannel(channel('Bad Name')) }).toThrow(/lower-case/)
  })
})
