import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { listen, openSocket, relay, subscribe } from '../../../test/helpers/realtime.ts'
import { addMember, asAgent, makeProject, makeTask, registerAgent, runNow } from '../../../test/helpers/work.ts'
import { createTestSmtp, type ReceivedMail } from '../../../test/helpers/smtp.ts'

interface Item { id: string, type: string, title: string, body: string, link: string | null, readAt: string | null }

// A real SMTP server on loopback: notification mail goes through the mail queue and SMTP and is read back here.
const smtp = createTestSmtp()
const received = smtp.received

let t: TestApp
beforeAll(async () => {
  const port = await smtp.listen()
  t = await createTestApp({ mailer: 'configured', env: { SMTP_URL: `smtp://127.0.0.1:${port}`, PUBLIC_URL: 'https://api.example.test', AUTH_LINK_URL: 'https://app.example.test', NOTIFICATIONS_DIGEST_SECONDS: '2' } })
  await t.app.queue.start()
})
afterAll(async () => {
  await t.close()
  await smtp.close()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function inbox (user: TestUser, query = ''): Promise<{ items: Item[], nextCursor: string | null }> {
  const res = await t.app.inject(as(user, { method: 'GET', url: `/api/v1/notifications${query}` }))
  expect(res.statusCode).toBe(200)
  return res.json()
}

async function mailsTo (email: string, count = 1, ms = 30_000): Promise<ReceivedMail[]> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    const found = received.filter((m) => m.to.includes(email))
    if (found.length >= count) return found
    await sleep(100)
  }
  throw new Error(`fewer than ${count} mails to ${email}`)
}

// nodemailer uses quoted-printable for long lines and folds long headers: undo both.
const decoded = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))).replace(/\r?\n[ \t]+/g, ' ')

describe('rules fire from real events', () => {
  it('tells a user added to a project, in the inbox and on their WebSocket at once', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    const projectId = await makeProject(t.app, owner, 'Apollo')
    const url = await listen(t.app)
    const socket = await openSocket(url, { token: member.accessToken })
    expect((await subscribe(socket, `user:${member.id}`)).type).toBe('subscribed')

    await addMember(t.app, owner, projectId, member, 'editor')
    await relay(t.app)

    const { items } = await inbox(member)
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({ type: 'project.member_added', title: 'You were added to Apollo', link: `/projects/${projectId}`, readAt: null })
    const live = await socket.next((m) => m.type === 'event' && m.event === 'notification.created', 15_000)
    expect(live).toMatchObject({ channel: `user:${member.id}`, data: { id: items[0]!.id, type: 'project.member_added' } })
    socket.ws.close()
    expect((await inbox(owner)).items).toEqual([])
  })

  it('tells a task\'s creator that its run failed, once, when an agent reports the failure', async () => {
    const owner = await makeUser(t.app)
    const projectId = await makeProject(t.app, owner)
    const agent = await registerAgent(t.app, owner, { projectId })
    const task = await makeTask(t.app, owner, projectId, { name: 'nightly backup' })
    const id = await runNow(t.app, owner, task.id)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))).statusCode).toBe(200)
    const failed = await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/fail`, payload: { error: 'disk full' } }))
    expect(failed.statusCode).toBe(200)
    await relay(t.app)
    // Published again (a relay pass that rolled back and ran twice): still one notification.
    await relay(t.app)

    const failures = (await inbox(owner)).items.filter((n) => n.type === 'execution.failed')
    expect(failures).toEqual([expect.objectContaining({ title: 'A run of nightly backup failed', body: 'disk full', link: `/projects/${projectId}/executions/${id}` })])
  })

  it('tells nobody about a failed attempt that the retry policy runs again; the last attempt\'s failure is told once', async () => {
    const owner = await makeUser(t.app)
    const projectId = await makeProject(t.app, owner)
    const agent = await registerAgent(t.app, owner, { projectId })
    const task = await makeTask(t.app, owner, projectId, { name: 'flaky job', retry: { maxAttempts: 2, backoffSeconds: 1 } })
    const first = await runNow(t.app, owner, task.id)
    const claimAndFail = async (error: string): Promise<string> => {
      const claimed = await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
      expect(claimed.statusCode).toBe(200)
      const { id } = claimed.json() as { id: string }
      expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/fail`, payload: { error } }))).statusCode).toBe(200)
      await relay(t.app)
      return id
    }
    expect(await claimAndFail('timeout talking to the API')).toBe(first)
    expect((await inbox(owner)).items.filter((n) => n.type === 'execution.failed')).toEqual([])

    await sleep(1100) // the retry's back-off
    const last = await claimAndFail('still failing')
    expect(last).not.toBe(first)
    const failures = (await inbox(owner)).items.filter((n) => n.type === 'execution.failed')
    expect(failures).toEqual([expect.objectContaining({ body: 'still failing', link: `/projects/${projectId}/executions/${last}` })])
  })

  it('tells an agent\'s owner that it went offline after missing heartbeats', async () => {
    const owner = await makeUser(t.app)
    const projectId = await makeProject(t.app, owner)
    const agent = await registerAgent(t.app, owner, { projectId, name: 'builder-1' })
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/heartbeat', payload: {} }))).statusCode).toBe(200)
    expect(await t.app.agents.sweepOffline(new Date(Date.now() + 3600_000))).toBeGreaterThanOrEqual(1)
    await relay(t.app)
    expect((await inbox(owner)).items).toContainEqual(expect.objectContaining({ type: 'agent.went_offline', title: 'Agent builder-1 went offline' }))
  })

  it('tells a key\'s owner once that it expires soon, however many sweeps run', async () => {
    const user = await makeUser(t.app)
    const expiresAt = new Date(Date.now() + 3 * 86_400_000).toISOString()
    const created = await t.app.inject(as(user, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: [], expiresAt } }))
    expect(created.statusCode).toBe(201)
    await Promise.all([t.app.apiKeyExpiry.notifyExpiring(), t.app.apiKeyExpiry.notifyExpiring()])
    await t.app.apiKeyExpiry.notifyExpiring()
    await relay(t.app)
    const notices = (await inbox(user)).items.filter((n) => n.type === 'api_key.expiring')
    expect(notices).toHaveLength(1)
    expect(notices[0]!.title).toBe('Your API key ci expires soon')
  })

  it('tells a user about a sign-in from a device none of their sessions had, not about a known one', async () => {
    const user = await makeUser(t.app)
    const signIn = async (agent: string) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'user-agent': agent }, payload: { email: user.email, password: user.password } })
      expect(res.statusCode).toBe(200)
    }
    await signIn('Firefox on Linux')
    await relay(t.app)
    const first = (await inbox(user)).items.filter((n) => n.type === 'session.new_device')
    expect(first).toHaveLength(1)
    expect(first[0]!.body).toContain('Firefox on Linux')
    await signIn('Firefox on Linux')
    await relay(t.app)
    expect((await inbox(user)).items.filter((n) => n.type === 'session.new_device')).toHaveLength(1)
  })
})

describe('the inbox', () => {
  it('pages with cursors (RC-01: a tampered cursor is a 400), filters unread, counts, marks read and all read, deletes', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    for (let i = 0; i < 3; i++) await addMember(t.app, owner, await makeProject(t.app, owner, `P${i}`), member, 'viewer')
    await relay(t.app)
    const first = await inbox(member, '?limit=2')
    expect(first.items.map((n) => n.title)).toEqual(['You were added to P2', 'You were added to P1'])
    const second = await inbox(member, `?limit=2&cursor=${first.nextCursor!}`)
    expect(second.items.map((n) => n.title)).toEqual(['You were added to P0'])
    expect(second.nextCursor).toBeNull()
    expect((await t.app.inject(as(member, { method: 'GET', url: '/api/v1/notifications?cursor=not-a-cursor' }))).statusCode).toBe(400)

    const count = async () => (await t.app.inject(as(member, { method: 'GET', url: '/api/v1/notifications/unread-count' }))).json() as { unread: number }
    expect(await count()).toEqual({ unread: 3 })
    const read = await t.app.inject(as(member, { method: 'POST', url: `/api/v1/notifications/${first.items[0]!.id}/read` }))
    expect(read.statusCode).toBe(200)
    expect(read.json<Item>().readAt).not.toBeNull()
    expect(await count()).toEqual({ unread: 2 })
    expect((await inbox(member, '?unread=true')).items.map((n) => n.title)).toEqual(['You were added to P1', 'You were added to P0'])
    expect((await t.app.inject(as(member, { method: 'POST', url: '/api/v1/notifications/read-all' }))).json()).toEqual({ marked: 2 })
    expect(await count()).toEqual({ unread: 0 })
    expect((await t.app.inject(as(member, { method: 'DELETE', url: `/api/v1/notifications/${first.items[1]!.id}` }))).statusCode).toBe(204)
    expect((await inbox(member)).items).toHaveLength(2)
  })

  it('AZ-01: another user\'s notification is a 404 for read, mark read and delete, as a missing one; anonymous is 401', async () => {
    const [owner, member, other] = await Promise.all([makeUser(t.app), makeUser(t.app), makeUser(t.app)])
    await addMember(t.app, owner, await makeProject(t.app, owner), member, 'viewer')
    await relay(t.app)
    const id = (await inbox(member)).items[0]!.id
    for (const [method, url] of [['GET', `/api/v1/notifications/${id}`], ['POST', `/api/v1/notifications/${id}/read`], ['DELETE', `/api/v1/notifications/${id}`]] as const) {
      const res = await t.app.inject(as(other, { method, url }))
      expect(res.statusCode, `${method} ${url}`).toBe(404)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(res.json()).toMatchObject({ code: 'NOTIFICATION_NOT_FOUND' })
      expect((await t.app.inject({ method, url })).statusCode).toBe(401)
    }
    expect((await t.app.inject(as(other, { method: 'POST', url: '/api/v1/notifications/read-all' }))).json()).toEqual({ marked: 0 })
    expect((await inbox(member)).items[0]).toMatchObject({ id, readAt: null })
  })

  it('deletes notifications past NOTIFICATIONS_RETENTION_DAYS in the retention sweep, and only those', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    await addMember(t.app, owner, await makeProject(t.app, owner), member, 'viewer')
    await relay(t.app)
    expect(await t.app.notifications.sweep(new Date(Date.now() + 89 * 86_400_000))).toBe(0)
    expect((await inbox(member)).items).toHaveLength(1)
    expect(await t.app.notifications.sweep(new Date(Date.now() + 91 * 86_400_000))).toBeGreaterThanOrEqual(1)
    expect((await inbox(member)).items).toEqual([])
  })
})

describe('preferences and email', () => {
  it('lists every declared type with its effective settings, and refuses an unknown type or field (400)', async () => {
    const user = await makeUser(t.app)
    const res = await t.app.inject(as(user, { method: 'GET', url: '/api/v1/notifications/preferences' }))
    const types = (res.json() as { items: Array<{ type: string, channels: Record<string, boolean> }> }).items
    expect(types.map((p) => p.type)).toEqual(expect.arrayContaining(['agent.went_offline', 'api_key.expiring', 'execution.failed', 'project.member_added', 'session.new_device']))
    expect(types.find((p) => p.type === 'project.member_added')!.channels).toEqual({ in_app: true, email: true, push: false })
    const put = (payload: Record<string, unknown>) => t.app.inject(as(user, { method: 'PUT', url: '/api/v1/notifications/preferences', payload }))
    expect((await put({ items: [{ type: 'no.such_type', channels: { email: false } }] })).statusCode).toBe(400)
    expect((await put({ items: [{ type: 'project.member_added', channels: { in_app: false } }] })).statusCode).toBe(400)
    // Named twice in one body: the last setting wins (not a 500 from one upsert touching a row twice).
    const twice = await put({ items: [{ type: 'project.member_added', channels: { push: false } }, { type: 'project.member_added', channels: { push: true } }] })
    expect(twice.statusCode).toBe(200)
    const changed = await put({ items: [{ type: 'project.member_added', channels: { push: true } }] })
    expect(changed.statusCode).toBe(200)
    expect((changed.json() as { items: Array<{ type: string, channels: Record<string, boolean> }> }).items.find((p) => p.type === 'project.member_added')!.channels).toEqual({ in_app: true, email: true, push: true })
  })

  it('mails nothing for a type whose email is off, and the inbox still has it', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    const put = await t.app.inject(as(member, { method: 'PUT', url: '/api/v1/notifications/preferences', payload: { items: [{ type: 'project.member_added', channels: { email: false } }] } }))
    expect(put.statusCode).toBe(200)
    await addMember(t.app, owner, await makeProject(t.app, owner), member, 'viewer')
    await relay(t.app)
    expect((await inbox(member)).items).toHaveLength(1)
    // Well past the digest delay: a mail would have come.
    await sleep(6000)
    expect(received.filter((m) => m.to.includes(member.email))).toEqual([])
  })

  it('batches several notifications into one digest mail whose one-click unsubscribe link works, and refuses a tampered or altered token (AU-01, AZ-01)', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    for (let i = 0; i < 3; i++) await addMember(t.app, owner, await makeProject(t.app, owner, `Digest ${i}`), member, 'viewer')
    await relay(t.app)
    const [mail] = await mailsTo(member.email)
    const text = decoded(mail!.raw)
    expect(text).toContain('Subject: 3 new notifications')
    for (let i = 0; i < 3; i++) expect(text).toContain(`You were added to Digest ${i}`)
    expect(text).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click')
    const link = /List-Unsubscribe: <https:\/\/api\.example\.test(\/api\/v1\/notifications\/unsubscribe\?token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+))>/.exec(text)
    expect(link).toBeTruthy()
    const [, path, token] = link!
    // Nothing more is mailed for the same items: they are marked emailed.
    await sleep(4000)
    expect(received.filter((m) => m.to.includes(member.email))).toHaveLength(1)

    const post = (url: string) => t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' })
    const [payload, mac] = token!.split('.')
    const altered = `${Buffer.from(JSON.stringify([owner.id, ['project.member_added']])).toString('base64url')}.${mac!}`
    for (const bad of [`${payload!}.${mac!.slice(0, -2)}AA`, altered, 'garbage', `${payload!}.`]) {
      const res = await post(`/api/v1/notifications/unsubscribe?token=${bad}`)
      expect(res.statusCode, bad).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
    }
    const ok = await post(path!)
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ types: ['project.member_added'], email: false })
    const prefs = (await t.app.inject(as(member, { method: 'GET', url: '/api/v1/notifications/preferences' }))).json() as { items: Array<{ type: string, channels: Record<string, boolean> }> }
    expect(prefs.items.find((p) => p.type === 'project.member_added')!.channels.email).toBe(false)
    const ownerPrefs = (await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/notifications/preferences' }))).json() as typeof prefs
    expect(ownerPrefs.items.find((p) => p.type === 'project.member_added')!.channels.email).toBe(true)
  })

  it('mails a single notification on its own, with its link and unsubscribe line', async () => {
    const [owner, member] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    const projectId = await makeProject(t.app, owner, 'Solo')
    await addMember(t.app, owner, projectId, member, 'viewer')
    await relay(t.app)
    const text = decoded((await mailsTo(member.email))[0]!.raw)
    expect(text).toContain('Subject: You were added to Solo')
    expect(text).toContain(`https://app.example.test/projects/${projectId}`)
    // The body's link opens the frontend's page, which POSTs the token to the API.
    const token = /Stop emails about project\.member_added: https:\/\/app\.example\.test\/notifications\/unsubscribe\?token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(text)?.[1]
    expect(token).toBeTruthy()
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/notifications/unsubscribe?token=${token!}` })
    expect(res.json()).toEqual({ types: ['project.member_added'], email: false })
  })
})
