import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { startPushEndpoint, type PushEndpoint } from '../../../test/helpers/push-endpoint.ts'
import { waitFor } from '../../../test/helpers/queue.ts'
import { relay } from '../../../test/helpers/realtime.ts'
import { addMember, makeProject } from '../../../test/helpers/work.ts'

// #18 end to end: a real event makes a notification, the notifications module hands it to the push
// module's channel (the port the lower module owns), and the browser's push service receives an
// RFC 8291 message that decrypts to it — only when the user's preference turns push on.
let t: TestApp
let endpoint: PushEndpoint

beforeAll(async () => {
  t = await createTestApp({ env: { PUSH_ALLOW_INSECURE_ENDPOINTS: 'true', PUSH_VAPID_SUBJECT: 'mailto:ops@example.com', NOTIFICATIONS_DIGEST_SECONDS: '0' } })
  endpoint = await startPushEndpoint()
  await t.app.queue.start()
}, 60_000)

afterAll(async () => {
  await endpoint?.close()
  await t?.close()
})

describe('notifications through Web Push', () => {
  it('pushes a notification made from a real event to the user\'s browser when the preference is on, and not when it is off', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    const browser = endpoint.subscriber('/push/member-phone')
    const subscribed = await t.app.inject(as(member, { method: 'POST', url: '/api/v1/push/subscriptions', payload: { endpoint: browser.endpoint, expirationTime: null, keys: { p256dh: browser.p256dh, auth: browser.auth } } }))
    expect(subscribed.statusCode).toBe(201)
    const mine = () => endpoint.received.filter((m) => m.path === '/push/member-phone')

    // project.member_added has push off by default: the inbox gets it, the browser does not.
    await addMember(t.app, owner, await makeProject(t.app, owner, 'Quiet'), member, 'viewer')
    await relay(t.app)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(mine()).toEqual([])

    const put = await t.app.inject(as(member, { method: 'PUT', url: '/api/v1/notifications/preferences', payload: { items: [{ type: 'project.member_added', channels: { push: true } }] } }))
    expect(put.statusCode).toBe(200)
    const projectId = await makeProject(t.app, owner, 'Loud')
    await addMember(t.app, owner, projectId, member, 'viewer')
    await relay(t.app)
    const [message] = await waitFor(mine, (list) => list.length >= 1, 60_000)
    expect(endpoint.rejected).toEqual([])
    const inbox = (await t.app.inject(as(member, { method: 'GET', url: '/api/v1/notifications?limit=1' }))).json<{ items: Array<{ id: string, title: string }> }>()
    expect(message!.payload).toEqual({ id: inbox.items[0]!.id, type: 'project.member_added', title: inbox.items[0]!.title, body: expect.any(String) as string, link: `/projects/${projectId}` })
    expect(mine()).toHaveLength(1)
  }, 120_000)
})
