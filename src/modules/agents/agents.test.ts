import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { expectAudit } from '../../../test/helpers/audit.ts'
import { addMember, asAgent, makeProject, makeTask, registerAgent, runNow } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser
let viewer: TestUser
let stranger: TestUser
let admin: TestUser
let projectId: string

beforeAll(async () => {
  t = await createTestApp({ env: { AGENT_OFFLINE_AFTER_SECONDS: '30' } })
  ;[owner, viewer, stranger, admin] = await Promise.all([makeUser(t.app), makeUser(t.app), makeUser(t.app), makeUser(t.app, { roles: ['admin'] })])
  projectId = await makeProject(t.app, owner)
  await addMember(t.app, owner, projectId, viewer, 'viewer')
})
afterAll(async () => { await t.close() })

describe('registering agents', () => {
  it('gives a project owner an agent and its credential once; the key is bp_ and never shown again', async () => {
    const res = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/agents', payload: { name: 'builder', labels: ['linux', 'docker'], projectId } }))
    expect(res.statusCode).toBe(201)
    const body = res.json() as { agent: Record<string, unknown>, apiKey: string }
    expect(body.apiKey).toMatch(/^bp_[A-Za-z0-9]{8}_/)
    expect(body.agent).toMatchObject({ name: 'builder', labels: ['linux', 'docker'], projectId, status: 'offline', enabled: true })
    const again = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/agents/${body.agent.id as string}` }))
    expect(again.body).not.toContain(body.apiKey.slice(12))
    await expectAudit(t, { action: 'agent.registered', outcome: 'success', actorId: owner.id, targetId: body.agent.id as string })
  })

  it('refuses viewers (403), strangers (404, as for a missing project) and users asking for a global agent (403)', async () => {
    const payload = { name: 'x', projectId }
    expect((await t.app.inject(as(viewer, { method: 'POST', url: '/api/v1/agents', payload }))).statusCode).toBe(403)
    const foreign = await t.app.inject(as(stranger, { method: 'POST', url: '/api/v1/agents', payload }))
    const missing = await t.app.inject(as(stranger, { method: 'POST', url: '/api/v1/agents', payload: { name: 'x', projectId: '0190e7a4-0000-7000-8000-000000000000' } }))
    expect(foreign.statusCode).toBe(404)
    expect(missing.statusCode).toBe(404)
    expect((foreign.json() as { code: string }).code).toBe((missing.json() as { code: string }).code)
    const global = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/agents', payload: { name: 'x' } }))
    expect(global.statusCode).toBe(403)
    expect(global.json()).toMatchObject({ code: 'AGENT_GLOBAL_ADMIN_ONLY' })
  })

  it('lets an admin register a global agent, which only admins see', async () => {
    const agent = await registerAgent(t.app, admin, { name: 'shared' })
    expect((await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/agents/${agent.id}` }))).statusCode).toBe(200)
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/agents/${agent.id}` }))).statusCode).toBe(404)
  })

  it('rejects bad labels, unknown fields and server-owned fields', async () => {
    for (const payload of [{ name: 'x', projectId, labels: ['Has Space'] }, { name: 'x', projectId, status: 'online' }, { name: 'x', projectId, ownerId: stranger.id }, { name: '', projectId }]) {
      const res = await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/agents', payload }))
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
    }
  })
})

describe('an agent credential', () => {
  it('authenticates the agent as itself and nothing more', async () => {
    const agent = await registerAgent(t.app, owner, { projectId })
    const me = await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/agents/me' }))
    expect(me.statusCode).toBe(200)
    expect(me.json()).toMatchObject({ id: agent.id })
    // It is not its owner: no user routes, no projects, no agent management, no API keys.
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(403)
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/projects' }))).statusCode).toBe(403)
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents', payload: { name: 'y', projectId } }))).statusCode).toBe(403)
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: `/api/v1/agents/${agent.id}` }))).statusCode).toBe(403)
    // People cannot use agent routes.
    expect((await t.app.inject(as(owner, { method: 'POST', url: '/api/v1/agents/me/heartbeat', payload: {} }))).statusCode).toBe(403)
    expect((await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/agents/me/heartbeat', payload: {} }))).statusCode).toBe(403)
  })

  it('is not listed, revoked or rotated through /api-keys', async () => {
    const agent = await registerAgent(t.app, owner, { projectId })
    const keys = await t.app.inject(as(owner, { method: 'GET', url: '/api/v1/api-keys' }))
    expect((keys.json() as { items: unknown[] }).items).toHaveLength(0)
    const row = await t.app.apiKeys.lookup(agent.apiKey.split('_')[1]!)
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/api-keys/${row!.id}` }))).statusCode).toBe(404)
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/agents/me' }))).statusCode).toBe(200)
  })

  it('stops at once when rotated, disabled or deleted', async () => {
    const agent = await registerAgent(t.app, owner, { projectId })
    const rotated = await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/agents/${agent.id}/rotate-key` }))
    expect(rotated.statusCode).toBe(200)
    const fresh = { apiKey: (rotated.json() as { apiKey: string }).apiKey }
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/agents/me' }))).statusCode).toBe(401)
    expect((await t.app.inject(asAgent(fresh, { method: 'GET', url: '/api/v1/agents/me' }))).statusCode).toBe(200)

    const disabled = await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/agents/${agent.id}`, payload: { enabled: false } }))
    expect(disabled.json()).toMatchObject({ enabled: false })
    expect((await t.app.inject(asAgent(fresh, { method: 'GET', url: '/api/v1/agents/me' }))).statusCode).toBe(401)
    expect((await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/agents/${agent.id}`, payload: { enabled: true } }))).statusCode).toBe(409)

    const other = await registerAgent(t.app, owner, { projectId })
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/agents/${other.id}` }))).statusCode).toBe(204)
    expect((await t.app.inject(asAgent(other, { method: 'GET', url: '/api/v1/agents/me' }))).statusCode).toBe(401)
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/agents/${other.id}` }))).statusCode).toBe(404)
  })
})

describe('deleting an agent a task runs on', () => {
  it('is refused (409) while a task names it, so the task never falls back to running on any agent; runs queued for it alone are cancelled', async () => {
    const agent = await registerAgent(t.app, owner, { projectId })
    const task = await makeTask(t.app, owner, projectId, { target: { agentId: agent.id } })
    const refused = await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/agents/${agent.id}` }))
    expect(refused.statusCode).toBe(409)
    expect(refused.json()).toMatchObject({ code: 'AGENT_IN_USE', detail: expect.stringContaining('1 task still runs on this agent') })
    const kept = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/tasks/${task.id}` }))
    expect(kept.json()).toMatchObject({ target: { agentId: agent.id } })
    expect((await t.app.inject(asAgent(agent, { method: 'GET', url: '/api/v1/agents/me' }))).statusCode).toBe(200)

    // A run queued while the task still named the agent can only ever go to that agent.
    const stranded = await runNow(t.app, owner, task.id)
    await t.app.inject(as(owner, { method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { target: { labels: ['gpu'] } } }))
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/agents/${agent.id}` }))).statusCode).toBe(204)
    const run = await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/executions/${stranded}` }))
    expect(run.json()).toMatchObject({ status: 'cancelled', error: 'its target agent was deleted' })
  })
})

describe('agent status', () => {
  it('goes online with a heartbeat, offline after missed ones, and logs each change', async () => {
    const agent = await registerAgent(t.app, owner, { projectId })
    const beat = await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/heartbeat', payload: { version: '1.2.3' } }))
    expect(beat.statusCode).toBe(200)
    expect(beat.json()).toMatchObject({ agent: { status: 'online', version: '1.2.3' }, heartbeatSeconds: 10 })
    // A bare POST, as `curl -X POST` sends it, is a heartbeat too.
    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/heartbeat' }))).statusCode).toBe(200)
    // A fake clock 31 s ahead: the heartbeat window (30 s) has passed.
    expect(await t.app.agents.sweepOffline(new Date(Date.now() + 31_000))).toBeGreaterThanOrEqual(1)
    const after = await t.app.inject(as(viewer, { method: 'GET', url: `/api/v1/agents/${agent.id}` }))
    expect(after.json()).toMatchObject({ status: 'offline' })
    // A second sweep changes nothing more.
    await t.app.agents.sweepOffline(new Date(Date.now() + 31_000))
    const events = await t.app.inject(as(viewer, { method: 'GET', url: `/api/v1/agents/${agent.id}/events` }))
    const kinds = (events.json() as { items: Array<{ kind: string, fromStatus: string | null, toStatus: string | null }> }).items.map((e) => `${e.kind}:${e.fromStatus ?? ''}>${e.toStatus ?? ''}`)
    expect(kinds).toEqual(['status_changed:online>offline', 'status_changed:offline>online', 'registered:>offline'])
  })
})

describe('listing and access', () => {
  it('shows members the agents of their projects and nobody else\'s', async () => {
    const mine = await registerAgent(t.app, owner, { projectId, labels: ['gpu'] })
    const otherProject = await makeProject(t.app, stranger)
    const theirs = await registerAgent(t.app, stranger, { projectId: otherProject })
    const list = async (user: TestUser, query = '') => ((await t.app.inject(as(user, { method: 'GET', url: `/api/v1/agents${query}` }))).json() as { items: Array<{ id: string }> }).items.map((a) => a.id)
    expect(await list(viewer)).toContain(mine.id)
    expect(await list(viewer)).not.toContain(theirs.id)
    expect(await list(stranger)).toEqual([theirs.id])
    expect(await list(viewer, '?label=gpu')).toEqual([mine.id])
    expect(await list(admin)).toEqual(expect.arrayContaining([mine.id, theirs.id]))
    // Viewers read but do not manage.
    expect((await t.app.inject(as(viewer, { method: 'PATCH', url: `/api/v1/agents/${mine.id}`, payload: { name: 'z' } }))).statusCode).toBe(403)
    for (const [method, url] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/rotate-key'], ['GET', '/events']] as const) {
      const res = await t.app.inject(as(stranger, { method, url: `/api/v1/agents/${mine.id}${url}`, ...(method === 'PATCH' ? { payload: { name: 'z' } } : {}) }))
      expect(res.statusCode, `${method} ${url}`).toBe(404)
      const anonymous = await t.app.inject({ method, url: `/api/v1/agents/${mine.id}${url}`, ...(method === 'PATCH' ? { payload: { name: 'z' } } : {}) })
      expect(anonymous.statusCode).toBe(401)
    }
  })
})
