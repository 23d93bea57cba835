import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../test/helpers/auth.ts'
import { makeProject, makeTask, registerAgent, runNow } from '../../test/helpers/work.ts'
import { createCursorCodec, type CursorCodec } from '../lib/cursor.ts'
import { newId } from '../lib/ids.ts'
import { listCursors } from './cursors.ts'

const invalid = () => new Error('refused')

describe('AZ-03: the one list cursor is signed for its list', () => {
  const codec = createCursorCodec(() => Buffer.alloc(32, 7), invalid)
  const position = { value: '2026-01-02T03:04:05.678Z', id: newId() }

  it('reads back what it wrote, in the same list only', () => {
    const cursor = codec.encode('tasks:a', position)
    expect(codec.read('tasks:a', cursor)).toEqual(position)
    expect(codec.after('tasks:a', cursor)).toEqual({ at: position.value, id: position.id })
    expect(codec.read('tasks:a', undefined)).toBeUndefined()
    expect(() => codec.read('tasks:b', cursor)).toThrow('refused')
    expect(() => createCursorCodec(() => Buffer.alloc(32, 8), invalid).read('tasks:a', cursor)).toThrow('refused')
  })

  it('refuses an edited body or signature, an unsigned cursor and a non-time position in a time-ordered list', () => {
    const [body, sig] = codec.encode('audit', position).split('.') as [string, string]
    const edited = Buffer.from(JSON.stringify([position.value, newId()])).toString('base64url')
    for (const text of [`${edited}.${sig}`, `${body}.${sig.slice(0, -2)}AA`, body, `${body}.${sig}.x`, '', 'garbage!']) {
      expect(() => codec.read('audit', text), text).toThrow('refused')
    }
    expect(() => codec.after('projects', codec.encode('projects', { value: 'a name', id: position.id }))).toThrow('refused')
  })
})

describe('AZ-03: every list refuses a tampered or foreign cursor with 400 problem+json', () => {
  let t: TestApp
  let owner: TestUser
  let admin: TestUser
  let cursors: CursorCodec
  const lists: Array<{ name: string, url: string, scope: string, caller: () => TestUser }> = []

  beforeAll(async () => {
    t = await createTestApp()
    cursors = listCursors(t.app.config)
    owner = await makeUser(t.app)
    admin = await makeUser(t.app, { roles: ['admin'] })
    const projectId = await makeProject(t.app, owner)
    const agent = await registerAgent(t.app, owner, { projectId })
    const taskId = (await makeTask(t.app, owner, projectId)).id
    const executionId = await runNow(t.app, owner, taskId)
    // Offline: every name resolves to one public address.
    t.app.webhooks.setResolver(async () => [{ address: '93.184.215.14', family: 4 }])
    const hook = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/webhooks`, payload: { url: 'https://hooks.example.com/in', eventTypes: ['*'] } }))
    expect(hook.statusCode).toBe(201)
    const hookId = (hook.json() as { id: string }).id
    const byOwner = () => owner
    const byAdmin = () => admin
    lists.push(
      { name: 'projects', url: '/api/v1/projects', scope: `projects:-createdAt:${owner.id}`, caller: byOwner },
      { name: 'members', url: `/api/v1/projects/${projectId}/members`, scope: `members:${projectId}`, caller: byOwner },
      { name: 'users', url: '/api/v1/admin/users', scope: 'users', caller: byAdmin },
      { name: 'agents', url: '/api/v1/agents', scope: 'agents', caller: byOwner },
      { name: 'agent events', url: `/api/v1/agents/${agent.id}/events`, scope: `agent-events:${agent.id}`, caller: byOwner },
      { name: 'tasks', url: `/api/v1/projects/${projectId}/tasks`, scope: `tasks:${projectId}`, caller: byOwner },
      { name: 'frontends', url: '/api/v1/admin/frontends', scope: 'frontends', caller: byAdmin },
      { name: 'audit', url: '/api/v1/admin/audit', scope: 'audit', caller: byAdmin },
      { name: 'project files', url: `/api/v1/projects/${projectId}/files`, scope: `files:project:${projectId}`, caller: byOwner },
      { name: 'task files', url: `/api/v1/tasks/${taskId}/files`, scope: `files:task:${taskId}`, caller: byOwner },
      { name: 'artifacts', url: `/api/v1/executions/${executionId}/artifacts`, scope: `files:artifact:${executionId}`, caller: byOwner },
      { name: 'api keys', url: '/api/v1/api-keys', scope: `api-keys:${owner.id}`, caller: byOwner },
      { name: "a user's api keys (admin)", url: `/api/v1/admin/users/${owner.id}/api-keys`, scope: `api-keys:${owner.id}`, caller: byAdmin },
      { name: 'executions', url: '/api/v1/executions', scope: 'executions', caller: byOwner },
      { name: 'webhooks', url: `/api/v1/projects/${projectId}/webhooks`, scope: `webhooks:${projectId}`, caller: byOwner },
      { name: 'deliveries', url: `/api/v1/webhooks/${hookId}/deliveries`, scope: `webhook-deliveries:${hookId}`, caller: byOwner },
      { name: 'notifications', url: '/api/v1/notifications', scope: `notifications:${owner.id}:all`, caller: byOwner }
    )
  })

  afterAll(async () => { await t?.close() })

  const get = (user: TestUser, url: string, cursor: string) => t.app.inject(as(user, { method: 'GET', url: `${url}?cursor=${encodeURIComponent(cursor)}` }))

  it('answers its own signed cursor, and refuses it edited, unsigned or from another list', async () => {
    expect(lists.length).toBe(17)
    for (const list of lists) {
      const position = { value: new Date().toISOString(), id: newId() }
      const good = cursors.encode(list.scope, position)
      expect((await get(list.caller(), list.url, good)).statusCode, list.name).toBe(200)
      const [, sig] = good.split('.')
      const edited = `${Buffer.from(JSON.stringify([position.value, newId()])).toString('base64url')}.${sig}`
      // The unsigned form every list but the projects' took before: a position anyone could write.
      const unsigned = Buffer.from(JSON.stringify([position.value, position.id])).toString('base64url')
      const foreign = cursors.encode(`${list.scope}:other`, position)
      for (const [why, bad] of [['edited', edited], ['unsigned', unsigned], ['foreign', foreign]]) {
        const res = await get(list.caller(), list.url, bad!)
        expect(res.statusCode, `${list.name}: ${why}`).toBe(400)
        expect(res.headers['content-type'], `${list.name}: ${why}`).toMatch(/^application\/problem\+json/)
        expect(res.json(), `${list.name}: ${why}`).toMatchObject({ code: 'VALIDATION_FAILED' })
      }
    }
  })
})
