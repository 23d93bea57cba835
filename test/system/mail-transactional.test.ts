import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../src/lib/free-port.ts'
import { SYSTEM_CONTEXT } from '../../src/platform/security-events.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser, strongPassword, uniqueEmail } from '../helpers/auth.ts'
import { spawnBackplane } from '../helpers/process.ts'

// "Mail never lost" (issue 12): with SMTP_URL a mail is a `mail.send` job queued in the transaction
// of the change that causes it. A change that rolls back queues no mail; a request that was answered
// has its mail in the queue, even when its process is killed the moment the reply lands. Here the
// queue is not started in the test's own app, so jobs stay countable; the spawned node runs its
// workers against an SMTP port nothing listens on, so its jobs wait for retries and stay too.
let t: TestApp
let smtpUrl: string
beforeAll(async () => {
  smtpUrl = `smtp://127.0.0.1:${await freePort()}`
  t = await createTestApp({ mailer: 'configured', env: { SMTP_URL: smtpUrl, AUTH_LINK_URL: 'https://app.example.test' } })
})
afterAll(async () => { await t.close() })

interface QueuedMail { to: string, subject: string, text: string }
/** mailTo lists the queued mail.send jobs to an address, in any state. */
async function mailTo (to: string): Promise<QueuedMail[]> {
  const { rows } = await t.app.dbPool.query<{ data: QueuedMail }>("SELECT data FROM pgboss.job WHERE name = 'mail.send' AND data->>'to' = $1 ORDER BY created_on", [to])
  return rows.map((r) => r.data)
}
const tokensOf = async (userId: string | null, purpose: string) =>
  (await t.app.dbPool.query<{ n: number }>('SELECT count(*)::int AS n FROM one_time_tokens WHERE user_id IS NOT DISTINCT FROM $1 AND purpose = $2', [userId, purpose])).rows[0]!.n
/** resetTokensFor counts the password-reset tokens made for an address (forgot-password names the address, never the account). */
const resetTokensFor = async (email: string) =>
  (await t.app.dbPool.query<{ n: number }>("SELECT count(*)::int AS n FROM one_time_tokens WHERE email = $1 AND purpose = 'reset_password'", [email.toLowerCase()])).rows[0]!.n
const post = (url: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url, payload })

describe('each flow queues exactly one mail with its one-time token, before it answers', () => {
  it('register: a free address gets its verification link, the owner of a taken one a notice with a reset link (AU-12)', async () => {
    const free = uniqueEmail('free')
    expect((await post('/api/v1/auth/register', { email: free, password: strongPassword() })).statusCode).toBe(202)
    const created = (await t.app.users.findForLogin(free))!
    expect((await mailTo(free)).map((m) => m.subject)).toEqual(['Confirm your email address'])
    expect(await tokensOf(created.id, 'verify_email')).toBe(1)

    const owner = await makeUser(t.app)
    expect((await post('/api/v1/auth/register', { email: owner.email, password: strongPassword() })).statusCode).toBe(202)
    const [notice, ...more] = await mailTo(owner.email)
    expect(more).toEqual([])
    expect(notice).toMatchObject({ subject: 'Someone tried to register with your address' })
    expect(notice!.text).toContain('https://app.example.test/reset-password?token=')
    expect(await tokensOf(owner.id, 'reset_password')).toBe(1)
  })

  it('forgot-password: an account gets a reset link; an unknown address a notice without a link, and a token nobody can spend', async () => {
    const user = await makeUser(t.app)
    expect((await post('/api/v1/auth/forgot-password', { email: user.email })).statusCode).toBe(202)
    const [reset] = await mailTo(user.email)
    expect(reset!.subject).toBe('Reset your password')
    expect(await resetTokensFor(user.email)).toBe(1)

    const unknown = uniqueEmail('nobody')
    expect((await post('/api/v1/auth/forgot-password', { email: unknown })).statusCode).toBe(202)
    const [notice, ...more] = await mailTo(unknown)
    expect(more).toEqual([])
    expect(notice!.subject).toBe('Password reset: no account for this address')
    // The same row as for an account, but its token is in no mail: nobody can spend it.
    expect(notice!.text).not.toMatch(/token|https?:/)
    expect(await resetTokensFor(unknown)).toBe(1)
  })
})

describe('a change that rolls back sends no mail', () => {
  it('a registration whose transaction fails after queueing its mail leaves no account, no token and no mail', async () => {
    const email = uniqueEmail('rolled-back')
    await expect(t.app.users.register({ email, passwordHash: 'not-a-hash', emailVerified: false }, async ({ user }, tx) => {
      await t.app.mailer.send({ to: email, subject: 'Confirm your email address', text: `for ${user!.id}` }, tx)
      throw new Error('a later step of the registration failed')
    })).rejects.toThrow('a later step')
    expect(await t.app.users.findForLogin(email)).toBeUndefined()
    expect(await mailTo(email)).toEqual([])
  })

  it('an email change refused as taken, or failing after its notice was queued, leaves the address and queues nothing', async () => {
    const a = await makeUser(t.app)
    const b = await makeUser(t.app)
    const notice = { to: a.email, subject: 'Your email address was changed', text: 'moved' }
    const context = SYSTEM_CONTEXT
    const also = (_row: unknown, tx: Parameters<typeof t.app.mailer.send>[1]) => t.app.mailer.send(notice, tx)
    await expect(t.app.users.changeEmail(a.id, b.email, { context, events: () => [], also })).rejects.toMatchObject({ status: 409, code: 'EMAIL_TAKEN' })
    const failing = async (row: unknown, tx: Parameters<typeof t.app.mailer.send>[1]) => { await also(row, tx); throw new Error('a later step of the change failed') }
    await expect(t.app.users.changeEmail(a.id, uniqueEmail('other'), { context, events: () => [], also: failing })).rejects.toThrow('a later step')
    expect((await t.app.users.repo.findById(a.id))?.email).toBe(a.email)
    expect(await mailTo(a.email)).toEqual([])

    await t.app.users.changeEmail(a.id, uniqueEmail('moved'), { context, events: () => [], also })
    expect(await mailTo(a.email)).toHaveLength(1)
  })
})

describe('a committed change keeps its mail when the process dies right after', () => {
  it('killed the moment its replies land: every answered register and forgot-password request has its mail queued', async () => {
    const owners = await Promise.all(Array.from({ length: 4 }, () => makeUser(t.app)))
    const node = await spawnBackplane({
      DATABASE_URL: t.db.url,
      BACKPLANE_ENV: 'test',
      BACKPLANE_SECRET: 'test-secret-0123456789-abcdefghijklmnop',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      SMTP_URL: smtpUrl,
      LOG_LEVEL: 'warn'
    })
    const recipients: string[] = []
    try {
      const send = (path: string, body: Record<string, unknown>) =>
        fetch(`${node.url}/api/v1/auth/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.status)
      const requests: Array<Promise<number>> = []
      for (const owner of owners) {
        const free = uniqueEmail('free')
        const unknown = uniqueEmail('unknown')
        recipients.push(owner.email, free, unknown)
        requests.push(
          send('register', { email: owner.email, password: strongPassword() }),
          send('register', { email: free, password: strongPassword() }),
          send('forgot-password', { email: owner.email }),
          send('forgot-password', { email: unknown })
        )
      }
      const statuses = await Promise.all(requests)
      // Killed as the last reply lands: mail that was made after the reply (as it used to be) is lost here.
      node.child.kill('SIGKILL')
      expect((await node.exited).signal).toBe('SIGKILL')
      expect(statuses).toEqual(requests.map(() => 202))
    } finally {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL')
    }
    for (const owner of owners) {
      expect((await mailTo(owner.email)).map((m) => m.subject).sort()).toEqual(['Reset your password', 'Someone tried to register with your address'])
    }
    for (const to of recipients.filter((r) => !owners.some((o) => o.email === r))) expect(await mailTo(to)).toHaveLength(1)
  }, 120_000)

  it('while the queue cannot take the mail, the request is not answered: no reply without its mail', async () => {
    const owner = await makeUser(t.app)
    const locker = new pg.Client({ connectionString: t.db.url })
    await locker.connect()
    try {
      await locker.query('BEGIN')
      // SHARE conflicts with the ROW EXCLUSIVE lock an INSERT takes: every job insert waits here.
      await locker.query('LOCK TABLE pgboss.job IN SHARE MODE')
      let answered = false
      const reply = post('/api/v1/auth/forgot-password', { email: owner.email }).then((res) => { answered = true; return res.statusCode })
      for (let i = 0; i < 100 && (await locker.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relnamespace = 'pgboss'::regnamespace AND NOT l.granted")).rows[0]!.n === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(answered).toBe(false)
      expect(await resetTokensFor(owner.email)).toBe(0) // nothing visible before the commit
      await locker.query('ROLLBACK')
      expect(await reply).toBe(202)
      expect(await mailTo(owner.email)).toHaveLength(1)
      expect(await resetTokensFor(owner.email)).toBe(1)
    } finally {
      await locker.query('ROLLBACK').catch(() => {})
      await locker.end()
    }
  })
})
