import { asc, eq } from 'drizzle-orm'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { outbox } from '../../src/platform/events-table.ts'
import { hashPassword } from '../../src/modules/auth/passwords.ts'
import { createAdminApp, type TestApp } from '../helpers/app.ts'
import { as, login, makeUser, strongPassword, uniqueEmail, type TestUser } from '../helpers/auth.ts'
import { addMember, makeProject, registerAgent } from '../helpers/work.ts'

// The README's event catalogue, held against the code: each state change of users, sessions,
// api keys, projects, members, tasks and agents writes its typed event to the outbox, in the
// change's transaction, and a change that rolls back writes none. (Executions: executions.events.test.ts.)

let t: TestApp
let admin: TestUser

beforeAll(async () => { ({ t, admin } = await createAdminApp()) })
afterAll(async () => { await t.close() })

/** typesOf lists the event types recorded for one aggregate, in insert order. */
async function typesOf (aggregate: string): Promise<string[]> {
  const rows = await t.app.db.select({ type: outbox.type }).from(outbox).where(eq(outbox.aggregate, aggregate)).orderBy(asc(outbox.seq))
  return rows.map((r) => r.type)
}

async function ok (options: InjectOptions, status = 200): Promise<Record<string, unknown>> {
  const res = await t.app.inject(options)
  expect(res.statusCode, res.body).toBe(status)
  return res.body === '' ? {} : res.json() as Record<string, unknown>
}

describe('users', () => {
  it('records every account change, and nothing for a creation that rolled back', async () => {
    const email = uniqueEmail()
    const password = strongPassword()
    await ok({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password, name: 'Ada' } }, 202)
    const { id } = (await t.app.users.findForLogin(email))!
    await t.app.users.markEmailVerified(id)
    await t.app.users.markEmailVerified(id) // already verified: no second event
    const ada = { id, ...(await login(t.app, email, password)) }
    await ok(as(ada, { method: 'PATCH', url: '/api/v1/users/me', payload: { name: 'Ada L' } }))
    const newPassword = strongPassword()
    await ok(as(ada, { method: 'POST', url: '/api/v1/users/me/password', payload: { currentPassword: password, newPassword } }), 204)
    await login(t.app, email, newPassword) // a login re-hash is not a change
    await ok(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${id}`, payload: { roles: ['user', 'admin'] } }))
    await ok(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${id}`, payload: { status: 'disabled' } }))
    await ok(as(admin, { method: 'PATCH', url: `/api/v1/admin/users/${id}`, payload: { status: 'active' } }))
    await ok(as(admin, { method: 'DELETE', url: `/api/v1/admin/users/${id}` }))
    expect(await typesOf(`user:${id}`)).toEqual([
      'user.created', 'user.email_verified', 'user.updated', 'user.password_changed',
      'user.roles_changed', 'user.disabled', 'user.enabled', 'user.deleted'
    ])

    // A registration with a taken address creates nothing; the owner's own channel is told.
    const owner = await makeUser(t.app)
    await ok({ method: 'POST', url: '/api/v1/auth/register', payload: { email: owner.email, password: strongPassword() } }, 202)
    expect(await typesOf(`user:${owner.id}`)).toEqual(['user.created', 'user.registration_attempted'])
    const [attempt] = await t.app.db.select({ channels: outbox.channels }).from(outbox).where(eq(outbox.aggregate, `user:${owner.id}`)).orderBy(asc(outbox.seq)).offset(1)
    expect(attempt!.channels).toEqual([`user:${owner.id}`])

    const before = await t.app.db.select({ id: outbox.id }).from(outbox).where(eq(outbox.type, 'user.created'))
    const taken = (await t.app.users.findForLogin(admin.email))!.email
    await expect(t.app.users.create({ email: taken, passwordHash: await hashPassword(strongPassword()) })).rejects.toMatchObject({ code: 'EMAIL_TAKEN' })
    expect(await t.app.db.select({ id: outbox.id }).from(outbox).where(eq(outbox.type, 'user.created'))).toHaveLength(before.length)
  })

  it('records an email change', async () => {
    const user = await makeUser(t.app)
    await t.app.users.changeEmail(user.id, uniqueEmail('moved'))
    expect(await typesOf(`user:${user.id}`)).toEqual(['user.created', 'user.email_changed'])
    const [row] = await t.app.db.select({ data: outbox.data }).from(outbox).where(eq(outbox.type, 'user.email_changed'))
    expect(JSON.stringify(row!.data)).not.toContain('@') // ids and public fields only
  })
})

describe('sessions and api keys', () => {
  it('records a sign-in, a sign-out, and a key\'s creation, rotation and revocation', async () => {
    const user = await makeUser(t.app)
    await ok(as(user, { method: 'POST', url: '/api/v1/auth/logout' }), 204)
    expect(await typesOf(`session:${user.sessionId}`)).toEqual(['session.created', 'session.revoked'])
    const other = await makeUser(t.app)
    const key = await ok(as(other, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'ci', scopes: ['project:read'] } }), 201)
    await ok(as(other, { method: 'POST', url: `/api/v1/api-keys/${key.id as string}/rotate` }))
    await ok(as(other, { method: 'DELETE', url: `/api/v1/api-keys/${key.id as string}` }), 204)
    expect(await typesOf(`api-key:${key.id as string}`)).toEqual(['api_key.created', 'api_key.rotated', 'api_key.revoked'])
  })
})

describe('projects, members, tasks and agents', () => {
  it('records each change of a project and what it holds', async () => {
    const owner = await makeUser(t.app)
    const member = await makeUser(t.app)
    const projectId = await makeProject(t.app, owner)
    await ok(as(owner, { method: 'PATCH', url: `/api/v1/projects/${projectId}`, payload: { description: 'd' } }))
    await addMember(t.app, owner, projectId, member, 'viewer')
    await ok(as(owner, { method: 'PATCH', url: `/api/v1/projects/${projectId}/members/${member.id}`, payload: { role: 'editor' } }))
    await ok(as(owner, { method: 'DELETE', url: `/api/v1/projects/${projectId}/members/${member.id}` }), 204)

    const task = await ok(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/tasks`, payload: { name: 'nightly', schedule: '0 3 * * *' } }), 201)
    const taskUrl = `/api/v1/tasks/${task.id as string}`
    await ok(as(owner, { method: 'PATCH', url: taskUrl, payload: { description: 'x' } }))
    await ok(as(owner, { method: 'POST', url: `${taskUrl}/pause` }))
    await ok(as(owner, { method: 'POST', url: `${taskUrl}/resume` }))
    await ok(as(owner, { method: 'DELETE', url: taskUrl }), 204)
    expect(await typesOf(`task:${task.id as string}`)).toEqual(['task.created', 'task.updated', 'task.paused', 'task.resumed', 'task.deleted'])

    const agent = await registerAgent(t.app, owner, { projectId })
    await ok(as(owner, { method: 'PATCH', url: `/api/v1/agents/${agent.id}`, payload: { labels: ['gpu'] } }))
    await ok(as(owner, { method: 'PATCH', url: `/api/v1/agents/${agent.id}`, payload: { enabled: false } }))
    await ok(as(owner, { method: 'POST', url: `/api/v1/agents/${agent.id}/rotate-key` }))
    await ok(as(owner, { method: 'DELETE', url: `/api/v1/agents/${agent.id}` }), 204)
    expect(await typesOf(`agent:${agent.id}`)).toEqual(['agent.registered', 'agent.updated', 'agent.disabled', 'agent.key_rotated', 'agent.deleted'])

    await ok(as(owner, { method: 'DELETE', url: `/api/v1/projects/${projectId}` }), 204)
    expect(await typesOf(`project:${projectId}`)).toEqual([
      'project.created', 'project.updated', 'project.member_added', 'project.member_role_changed', 'project.member_removed', 'project.deleted'
    ])
  })
})
