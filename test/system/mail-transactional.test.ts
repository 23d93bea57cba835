import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../../src/lib/free-port.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser } from '../helpers/auth.ts'

// Mail is queued in the transaction of the change that causes it (SMTP_URL set: a `mail.send` job
// in the job queue, which is not started here so jobs stay countable): a change that rolls back
// queues no mail, a committed one has its mail queued with it.
let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ mailer: 'configured', env: { SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, MAIL_FROM: 'Backplane <no-reply@backplane.test>' } })
})
afterAll(async () => { await t.close() })

const queuedMail = async () => (await t.app.queue.stats()).find((s) => s.name === 'mail.send')?.queued ?? 0

it('an email change that rolls back (address taken meanwhile) queues no mail; one that commits queues its notice', async () => {
  const a = await makeUser(t.app)
  const b = await makeUser(t.app)
  const before = await queuedMail()
  const notice = { to: a.email, subject: 'Your email address was changed', text: 'moved' }
  const also = (tx: Parameters<typeof t.app.mailer.send>[1]) => t.app.mailer.send(notice, tx)

  await expect(t.app.users.changeEmail(a.id, b.email, { context: { actorId: a.id, actorType: 'user', ip: null, userAgent: null, requestId: null }, events: () => [], also })).rejects.toMatchObject({ status: 409, code: 'EMAIL_TAKEN' })
  expect(await queuedMail()).toBe(before)
  // The mail is queued, then a later step of the same change fails: the queued mail rolls back with it.
  const failing = async (tx: Parameters<typeof t.app.mailer.send>[1]) => { await also(tx); throw new Error('a later step of the change failed') }
  await expect(t.app.users.changeEmail(a.id, `other-${a.email}`, { context: { actorId: a.id, actorType: 'user', ip: null, userAgent: null, requestId: null }, events: () => [], also: failing })).rejects.toThrow('a later step')
  expect(await queuedMail()).toBe(before)
  expect((await t.app.users.repo.findById(a.id))?.email).toBe(a.email)

  await t.app.users.changeEmail(a.id, `moved-${a.email}`, { context: { actorId: a.id, actorType: 'user', ip: null, userAgent: null, requestId: null }, events: () => [], also })
  expect(await queuedMail()).toBe(before + 1)
})

it('a forgot-password link is queued with its token: one token, one mail', async () => {
  const u = await makeUser(t.app)
  const before = await queuedMail()
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email: u.email } })
  expect(res.statusCode).toBeLessThan(300)
  const until = Date.now() + 10_000
  while (await queuedMail() === before && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100))
  expect(await queuedMail()).toBe(before + 1)
  const { rows } = await t.app.dbPool.query("SELECT count(*)::int AS n FROM one_time_tokens WHERE user_id = $1 AND purpose = 'reset_password'", [u.id])
  expect(rows[0].n).toBe(1)
})
