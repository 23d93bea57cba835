import { randomUUID } from 'node:crypto'
import { inArray } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditEvents } from '../../src/modules/audit/table.ts'
import { users } from '../../src/modules/users/table.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser, type TestUser } from '../helpers/auth.ts'
import { spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'

// AU-01: a change and its audit row are one fact. A real node is SIGKILLed while the test holds a
// lock on the audit table, which stops any audit write made after its change's commit (the window
// a crash used to lose events in), and once more the moment its last reply lands: each time, every
// change that committed has its audit row, and every audit row names a committed change.
let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t?.close() })

const until = async (check: () => Promise<boolean>, ms: number) => {
  for (const end = Date.now() + ms; Date.now() < end && !(await check());) await new Promise((resolve) => setTimeout(resolve, 50))
}

/** startNode runs a real Backplane process on the test's database and signs the admin in on it. */
async function startNode (admin: TestUser): Promise<{ node: BackplaneProcess, send: (method: string, path: string, body?: unknown) => Promise<{ requestId: string, status: number }> }> {
  const node = await spawnBackplane({
    DATABASE_URL: t.db.url,
    BACKPLANE_ENV: 'test',
    BACKPLANE_SECRET: 'test-secret-0123456789-abcdefghijklmnop',
    RATE_LIMIT_USER_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn'
  })
  const login = await fetch(`${node.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: admin.email, password: admin.password }) })
  expect(login.status).toBe(200)
  const { accessToken } = await login.json() as { accessToken: string }
  const send = async (method: string, path: string, body?: unknown) => {
    const requestId = randomUUID()
    const res = await fetch(`${node.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, 'x-request-id': requestId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then((r) => r.status, () => 0)
    return { requestId, status: res }
  }
  return { node, send }
}

/** change gives half the users the admin role and deletes the other half, all at once. */
const change = (send: (method: string, path: string, body?: unknown) => Promise<{ requestId: string, status: number }>, targets: TestUser[]) =>
  targets.map((u, i) => i % 2 === 0 ? send('PATCH', `/api/v1/admin/users/${u.id}`, { roles: ['user', 'admin'] }) : send('DELETE', `/api/v1/admin/users/${u.id}`))

/** expectAudited checks that the committed changes to `targets` and their audit rows are the same set. */
async function expectAudited (admin: TestUser, targets: TestUser[]): Promise<number> {
  const rows = await t.app.db.select().from(auditEvents).where(inArray(auditEvents.targetId, targets.map((u) => u.id)))
  const stored = await t.app.db.select({ id: users.id, roles: users.roles, status: users.status }).from(users).where(inArray(users.id, targets.map((u) => u.id)))
  const changed = stored.filter((u) => u.roles.includes('admin') || u.status === 'deleted').map((u) => u.id)
  expect(rows.map((r) => r.targetId).sort()).toEqual(changed.sort())
  for (const row of rows) {
    const i = targets.findIndex((u) => u.id === row.targetId)
    expect(row).toMatchObject({ action: i % 2 === 0 ? 'user.roles_changed' : 'user.deleted', actorId: admin.id, outcome: 'success' })
  }
  return changed.length
}

describe('AU-01: audit rows survive a kill after the change commits', () => {
  it('killed while audit writes are held: no committed change lacks its row', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const targets = await Promise.all(Array.from({ length: 12 }, () => makeUser(t.app)))
    const { node, send } = await startNode(admin)
    const locker = new pg.Client({ connectionString: t.db.url })
    await locker.connect()
    try {
      await locker.query('BEGIN')
      // SHARE conflicts with the ROW EXCLUSIVE lock an INSERT takes: every audit write waits here.
      await locker.query('LOCK TABLE audit_events IN SHARE MODE')
      const replies: number[] = []
      for (const reply of change(send, targets)) reply.then((r) => { replies.push(r.status) }, () => {})
      const waiting = async () => (await locker.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'audit_events'::regclass AND NOT granted")).rows[0]!.n
      await until(async () => (await waiting()) > 0, 20_000)
      // The changes that commit before their audit row reply now; give them the time to.
      await until(async () => replies.length === targets.length, 2_000)
      node.child.kill('SIGKILL')
      expect((await node.exited).signal).toBe('SIGKILL')
    } finally {
      await locker.query('ROLLBACK').catch(() => {})
      await locker.end()
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL')
    }
    await expectAudited(admin, targets)
  }, 120_000)

  it('killed as its last reply lands: every acknowledged change has its row', async () => {
    const admin = await makeUser(t.app, { roles: ['admin'] })
    const targets = await Promise.all(Array.from({ length: 24 }, () => makeUser(t.app)))
    const { node, send } = await startNode(admin)
    try {
      const replies = await Promise.all(change(send, targets))
      node.child.kill('SIGKILL')
      expect((await node.exited).signal).toBe('SIGKILL')
      expect(replies.map((r) => r.status)).toEqual(targets.map(() => 200))
      const rows = await t.app.db.select({ requestId: auditEvents.requestId }).from(auditEvents).where(inArray(auditEvents.requestId, replies.map((r) => r.requestId)))
      expect(rows.map((r) => r.requestId).sort()).toEqual(replies.map((r) => r.requestId).sort())
    } finally {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL')
    }
    expect(await expectAudited(admin, targets)).toBe(targets.length)
  }, 120_000)
})
