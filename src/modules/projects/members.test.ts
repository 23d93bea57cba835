import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { newId } from '../../lib/ids.ts'
import type { Actor } from '../../platform/auth.ts'
import { SYSTEM_CONTEXT } from '../../platform/security-events.ts'

interface MemberBody { userId: string, email: string, name: string, role: string, createdAt: string }

let t: TestApp
let owner: TestUser
let admin: TestUser

const call = (user: TestUser, options: InjectOptions) => t.app.inject(as(user, options))
const membersUrl = (id: string, userId?: string) => `/api/v1/projects/${id}/members${userId ? `/${userId}` : ''}`

async function project (user: TestUser = owner): Promise<string> {
  const res = await call(user, { method: 'POST', url: '/api/v1/projects', payload: { name: 'Team' } })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id
}

async function add (projectId: string, payload: Record<string, unknown>, by: TestUser = owner) {
  return call(by, { method: 'POST', url: membersUrl(projectId), payload })
}

async function roles (projectId: string): Promise<Record<string, string>> {
  const { rows } = await t.app.dbPool.query('SELECT user_id, role FROM project_members WHERE project_id = $1', [projectId])
  return Object.fromEntries(rows.map((r) => [r.user_id, r.role]))
}

function actorOf (user: TestUser, userRoles = ['user']): Actor {
  return { kind: 'user', userId: user.id, roles: userRoles, permissions: t.app.rbac.permissionsOf(userRoles) }
}

beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  owner = await makeUser(t.app)
  admin = await makeUser(t.app, { roles: ['admin'] })
})
afterAll(async () => { await t.close() })

describe('adding members', () => {
  it('adds by email (any case) or by id, with the role, and audits it', async () => {
    const id = await project()
    const [bea, cal] = [await makeUser(t.app), await makeUser(t.app)]
    const byEmail = await add(id, { email: bea.email.toUpperCase(), role: 'editor' })
    expect(byEmail.statusCode, byEmail.body).toBe(201)
    expect(byEmail.json()).toMatchObject({ userId: bea.id, email: bea.email, role: 'editor' })
    const byId = await add(id, { userId: cal.id, role: 'viewer' })
    expect(byId.json()).toMatchObject({ userId: cal.id, email: cal.email, role: 'viewer' })
    expect(await roles(id)).toEqual({ [owner.id]: 'owner', [bea.id]: 'editor', [cal.id]: 'viewer' })
    const row = await expectAudit(t, { action: 'project.member_added', outcome: 'success', actorId: owner.id, targetId: id })
    expect(row.targetType).toBe('project')
  })

  it('an existing member is a 409; the role is not changed', async () => {
    const id = await project()
    const bea = await makeUser(t.app)
    expect((await add(id, { userId: bea.id, role: 'viewer' })).statusCode).toBe(201)
    const again = await add(id, { email: bea.email, role: 'owner' })
    expect(again.statusCode).toBe(409)
    expect(again.json().code).toBe('PROJECT_MEMBER_EXISTS')
    expect((await add(id, { userId: owner.id, role: 'viewer' })).statusCode).toBe(409)
    expect(await roles(id)).toEqual({ [owner.id]: 'owner', [bea.id]: 'viewer' })
  })

  it('unknown, disabled and deleted accounts all get the same 404', async () => {
    const id = await project()
    const [disabled, deleted] = [await makeUser(t.app), await makeUser(t.app)]
    await t.app.users.adminUpdate({ ...SYSTEM_CONTEXT, actorId: admin.id, actorType: 'user' }, disabled.id, { status: 'disabled' })
    await t.app.users.softDelete({ ...SYSTEM_CONTEXT, actorId: admin.id, actorType: 'user' }, deleted.id)
    const bodies = []
    for (const payload of [
      { email: 'nobody-here@example.test', role: 'viewer' },
      { userId: newId(), role: 'viewer' },
      { email: disabled.email, role: 'viewer' },
      { userId: disabled.id, role: 'viewer' },
      { email: deleted.email, role: 'viewer' },
      { userId: deleted.id, role: 'viewer' }
    ]) {
      const res = await add(id, payload)
      expect(res.statusCode, JSON.stringify(payload)).toBe(404)
      bodies.push({ ...res.json(), requestId: undefined })
    }
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1)
    expect(bodies[0]).toMatchObject({ code: 'PROJECT_USER_NOT_FOUND', detail: 'No active user matches' })
    expect(await roles(id)).toEqual({ [owner.id]: 'owner' })
  })

  it('a non-owner learns nothing about accounts: 403 whether the email exists or not', async () => {
    const id = await project()
    const editor = await makeUser(t.app)
    await add(id, { userId: editor.id, role: 'editor' })
    for (const email of ['nobody-else@example.test', admin.email]) {
      const res = await add(id, { email, role: 'viewer' }, editor)
      expect(res.statusCode).toBe(403)
      expect(res.json().code).toBe('PROJECT_ROLE_REQUIRED')
    }
  })
})

describe('listing members', () => {
  it('pages every member once with id, email, name and role; an edited or foreign cursor is a 400', async () => {
    const id = await project()
    const others = []
    for (let i = 0; i < 5; i++) {
      const user = await makeUser(t.app)
      others.push(user)
      await add(id, { userId: user.id, role: i % 2 ? 'editor' : 'viewer' })
    }
    const seen: MemberBody[] = []
    const cursors: string[] = []
    let cursor: string | null = null
    do {
      const res = await call(others[0]!, { method: 'GET', url: `${membersUrl(id)}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}` })
      expect(res.statusCode, res.body).toBe(200)
      const page = res.json() as { items: MemberBody[], nextCursor: string | null }
      expect(page.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.items)
      cursor = page.nextCursor
      if (cursor) cursors.push(cursor)
    } while (cursor)
    expect(seen.map((m) => m.userId)).toEqual([owner.id, ...others.map((u) => u.id)])
    expect(seen[0]).toEqual({ userId: owner.id, email: owner.email, name: '', role: 'owner', createdAt: expect.any(String) })
    expect(Object.keys(seen[1]!).sort()).toEqual(['createdAt', 'email', 'name', 'role', 'userId'])

    const other = await project()
    for (const bad of [cursors[0]!, 'garbage']) {
      const res = await call(owner, { method: 'GET', url: `${membersUrl(other)}?cursor=${encodeURIComponent(bad)}` })
      expect(res.statusCode).toBe(400)
    }
  })
})

describe('roles and the last owner', () => {
  it('an owner changes roles (audited); the same role again is a no-op', async () => {
    const id = await project()
    const bea = await makeUser(t.app)
    await add(id, { userId: bea.id, role: 'viewer' })
    const res = await call(owner, { method: 'PATCH', url: membersUrl(id, bea.id), payload: { role: 'editor' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ userId: bea.id, email: bea.email, role: 'editor' })
    const row = await expectAudit(t, { action: 'project.member_role_changed', outcome: 'success', actorId: owner.id, targetId: id })
    expect(row.details).toMatchObject({ userId: bea.id, role: 'editor', before: 'viewer' })
    expect((await call(owner, { method: 'PATCH', url: membersUrl(id, bea.id), payload: { role: 'editor' } })).statusCode).toBe(200)
    const missing = await call(owner, { method: 'PATCH', url: membersUrl(id, newId()), payload: { role: 'editor' } })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().code).toBe('PROJECT_MEMBER_NOT_FOUND')
  })

  it('the last owner can be neither demoted, removed, nor leave (409); with a second owner they can', async () => {
    const id = await project()
    for (const options of [
      { method: 'PATCH', url: membersUrl(id, owner.id), payload: { role: 'editor' } },
      { method: 'DELETE', url: membersUrl(id, owner.id) }
    ] as InjectOptions[]) {
      for (const by of [owner, admin]) {
        const res = await call(by, options)
        expect(res.statusCode).toBe(409)
        expect(res.json().code).toBe('PROJECT_LAST_OWNER')
      }
    }
    expect(await roles(id)).toEqual({ [owner.id]: 'owner' })

    const bea = await makeUser(t.app)
    await add(id, { userId: bea.id, role: 'owner' })
    expect((await call(owner, { method: 'PATCH', url: membersUrl(id, owner.id), payload: { role: 'editor' } })).statusCode).toBe(200)
    // The project's ownerId moves to the owner who remains.
    expect((await call(bea, { method: 'GET', url: `/api/v1/projects/${id}` })).json().ownerId).toBe(bea.id)
    const last = await call(bea, { method: 'DELETE', url: membersUrl(id, bea.id) })
    expect(last.statusCode).toBe(409)
    expect(await roles(id)).toEqual({ [owner.id]: 'editor', [bea.id]: 'owner' })
  })

  it('concurrent demotions of two owners leave one owner', async () => {
    const id = await project()
    const bea = await makeUser(t.app)
    await add(id, { userId: bea.id, role: 'owner' })
    const results = await Promise.all([
      call(owner, { method: 'PATCH', url: membersUrl(id, owner.id), payload: { role: 'viewer' } }),
      call(bea, { method: 'PATCH', url: membersUrl(id, bea.id), payload: { role: 'viewer' } })
    ])
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409])
    expect(Object.values(await roles(id)).filter((r) => r === 'owner')).toHaveLength(1)
  })
})

describe('removing members', () => {
  it('an owner removes a member (audited); the member loses access at once', async () => {
    const id = await project()
    const bea = await makeUser(t.app)
    await add(id, { userId: bea.id, role: 'editor' })
    const res = await call(owner, { method: 'DELETE', url: membersUrl(id, bea.id) })
    expect(res.statusCode).toBe(204)
    await expectAudit(t, { action: 'project.member_removed', outcome: 'success', actorId: owner.id, targetId: id })
    expect((await call(bea, { method: 'GET', url: `/api/v1/projects/${id}` })).statusCode).toBe(404)
    expect((await call(owner, { method: 'DELETE', url: membersUrl(id, bea.id) })).json().code).toBe('PROJECT_MEMBER_NOT_FOUND')
  })

  it('any member may leave; a viewer cannot remove someone else (403)', async () => {
    const id = await project()
    const [viewer, editor] = [await makeUser(t.app), await makeUser(t.app)]
    await add(id, { userId: viewer.id, role: 'viewer' })
    await add(id, { userId: editor.id, role: 'editor' })
    expect((await call(viewer, { method: 'DELETE', url: membersUrl(id, editor.id) })).statusCode).toBe(403)
    expect((await call(viewer, { method: 'DELETE', url: membersUrl(id, viewer.id) })).statusCode).toBe(204)
    expect((await call(editor, { method: 'DELETE', url: membersUrl(id, editor.id) })).statusCode).toBe(204)
    expect(await roles(id)).toEqual({ [owner.id]: 'owner' })
    expect((await call(viewer, { method: 'GET', url: membersUrl(id) })).statusCode).toBe(404)
  })

  it('an admin manages members of a project they are not in', async () => {
    const id = await project()
    const bea = await makeUser(t.app)
    expect((await add(id, { userId: bea.id, role: 'viewer' }, admin)).statusCode).toBe(201)
    expect((await call(admin, { method: 'PATCH', url: membersUrl(id, bea.id), payload: { role: 'owner' } })).statusCode).toBe(200)
    expect((await call(admin, { method: 'DELETE', url: membersUrl(id, owner.id) })).statusCode).toBe(204)
    expect(await roles(id)).toEqual({ [bea.id]: 'owner' })
  })
})

describe('the service other modules call (app.projects)', () => {
  it('requireAccess: the role that grants access, 404 for non-members and missing ids, 403 for too weak a role', async () => {
    const id = await project()
    const [viewer, stranger] = [await makeUser(t.app), await makeUser(t.app)]
    await add(id, { userId: viewer.id, role: 'viewer' })
    const ok = await t.app.projects.requireAccess(actorOf(owner), id, 'owner')
    expect(ok).toMatchObject({ role: 'owner', project: { id, name: 'Team', ownerId: owner.id } })
    expect(ok.project.createdAt).toBeInstanceOf(Date)
    expect((await t.app.projects.requireAccess(actorOf(viewer), id, 'viewer')).role).toBe('viewer')
    await expect(t.app.projects.requireAccess(actorOf(viewer), id, 'editor')).rejects.toMatchObject({ status: 403, code: 'PROJECT_ROLE_REQUIRED' })
    await expect(t.app.projects.requireAccess(actorOf(stranger), id, 'viewer')).rejects.toMatchObject({ status: 404, code: 'PROJECT_NOT_FOUND' })
    await expect(t.app.projects.requireAccess(actorOf(owner), newId(), 'viewer')).rejects.toMatchObject({ status: 404, code: 'PROJECT_NOT_FOUND' })
    expect((await t.app.projects.requireAccess(actorOf(admin, ['admin']), id, 'owner')).role).toBe('admin')
    await expect(t.app.projects.requireAccess(actorOf(admin, ['admin']), newId(), 'viewer')).rejects.toMatchObject({ status: 404 })
    // An agent acts for its owner's user id; without project:admin only that membership counts.
    const agent: Actor = { kind: 'api-key', userId: viewer.id, agentId: newId(), roles: ['agent'], permissions: new Set(['project:read']) }
    expect((await t.app.projects.requireAccess(agent, id, 'viewer')).role).toBe('viewer')
  })

  it('visibleProjectIds and roleOf', async () => {
    const user = await makeUser(t.app)
    expect(await t.app.projects.visibleProjectIds(actorOf(user))).toEqual([])
    const mine = await project(user)
    const shared = await project()
    await add(shared, { userId: user.id, role: 'editor' })
    expect((await t.app.projects.visibleProjectIds(actorOf(user)) as string[]).sort()).toEqual([mine, shared].sort())
    expect(await t.app.projects.visibleProjectIds(actorOf(admin, ['admin']))).toBe('all')
    expect(await t.app.projects.roleOf(user.id, shared)).toBe('editor')
    expect(await t.app.projects.roleOf(user.id, mine)).toBe('owner')
    expect(await t.app.projects.roleOf(admin.id, shared)).toBeUndefined()
  })
})
