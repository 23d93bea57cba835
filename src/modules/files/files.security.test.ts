import { and, eq } from 'drizzle-orm'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { expectAudit, auditRows } from '../../../test/helpers/audit.ts'
import { as, type TestUser } from '../../../test/helpers/auth.ts'
import { asAgent, makeProject, makeProjectRoles, makeTask, registerAgent, runNow, type TestAgent } from '../../../test/helpers/work.ts'
import { outbox } from '../../platform/events-table.ts'

let t: TestApp
let dataDir: string
let owner: TestUser, editor: TestUser, viewer: TestUser, stranger: TestUser, admin: TestUser, projectId: string
let taskId: string
let agent: TestAgent
let otherAgent: TestAgent

const MISSING = '0190e7a4-0000-7000-8000-000000000000'
const put = (user: TestUser, url: string, body = 'data') => t.app.inject(as(user, { method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: body }))

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bp-files-sec-'))
  t = await createTestApp({ env: { DATA_DIR: dataDir } })
  ;({ owner, editor, viewer, stranger, admin, projectId } = await makeProjectRoles(t.app))
  taskId = (await makeTask(t.app, owner, projectId)).id
  agent = await registerAgent(t.app, owner, { projectId })
  otherAgent = await registerAgent(t.app, stranger, { projectId: await makeProject(t.app, stranger) })
})
afterAll(async () => {
  await t.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('access to files follows their owner (AZ-01, AZ-03)', () => {
  it('project files and task attachments: viewers read, editors write, others get 404', async () => {
    const projectFile = (await put(owner, `/api/v1/projects/${projectId}/files?name=p.txt`)).json().id as string
    const taskFile = (await put(owner, `/api/v1/tasks/${taskId}/files?name=t.txt`)).json().id as string
    const callers: Record<string, TestUser | null> = { anonymous: null, stranger, viewer, editor, admin }
    const table: Array<[string, 'GET' | 'POST', string, Record<string, number>]> = [
      ['list project files', 'GET', `/api/v1/projects/${projectId}/files`, { anonymous: 401, stranger: 404, viewer: 200, editor: 200, admin: 200 }],
      ['upload to project', 'POST', `/api/v1/projects/${projectId}/files?name=a.txt`, { anonymous: 401, stranger: 404, viewer: 403, editor: 201, admin: 201 }],
      ['list task files', 'GET', `/api/v1/tasks/${taskId}/files`, { anonymous: 401, stranger: 404, viewer: 200, editor: 200, admin: 200 }],
      ['attach to task', 'POST', `/api/v1/tasks/${taskId}/files?name=a.txt`, { anonymous: 401, stranger: 404, viewer: 403, editor: 201, admin: 201 }],
      ['get project file', 'GET', `/api/v1/files/${projectFile}`, { anonymous: 401, stranger: 404, viewer: 200, editor: 200, admin: 200 }],
      ['download task file', 'GET', `/api/v1/files/${taskFile}/content`, { anonymous: 401, stranger: 404, viewer: 200, editor: 200, admin: 200 }],
      ['link project file', 'POST', `/api/v1/files/${projectFile}/link`, { anonymous: 401, stranger: 404, viewer: 200, editor: 200, admin: 200 }]
    ]
    for (const [name, method, url, expected] of table) {
      for (const [who, status] of Object.entries(expected)) {
        const user = callers[who]
        const options = { method, url, ...(method === 'POST' && url.includes('name=') ? { headers: { 'content-type': 'text/plain' }, payload: 'x' } : {}) }
        const res = await t.app.inject(user ? as(user, options) : options)
        expect(res.statusCode, `${name} as ${who}`).toBe(status)
        if (status === 404) expect(res.body, `${name} as ${who}`).not.toContain('.txt')
      }
    }
    for (const [who, status] of [['stranger', 404], ['viewer', 403], ['editor', 204]] as const) {
      const res = await t.app.inject(as(callers[who]!, { method: 'DELETE', url: `/api/v1/files/${taskFile}` }))
      expect(res.statusCode, `delete as ${who}`).toBe(status)
    }
  })

  it('answers another project\'s file exactly like a missing one', async () => {
    const id = (await put(owner, `/api/v1/projects/${projectId}/files?name=private.txt`)).json().id as string
    const strip = (body: string) => { const { instance: _i, requestId: _r, ...rest } = JSON.parse(body) as Record<string, unknown>; return rest }
    for (const suffix of ['', '/content']) {
      const foreign = await t.app.inject(as(stranger, { method: 'GET', url: `/api/v1/files/${id}${suffix}` }))
      const missing = await t.app.inject(as(stranger, { method: 'GET', url: `/api/v1/files/${MISSING}${suffix}` }))
      expect(foreign.statusCode).toBe(404)
      expect(strip(foreign.body)).toEqual(strip(missing.body))
    }
  })

  it('audits an admin\'s download of another user\'s file, and not a member\'s', async () => {
    const id = (await put(owner, `/api/v1/projects/${projectId}/files?name=audited.txt`)).json().id as string
    expect((await t.app.inject(as(viewer, { method: 'GET', url: `/api/v1/files/${id}/content` }))).statusCode).toBe(200)
    expect((await t.app.inject(as(admin, { method: 'GET', url: `/api/v1/files/${id}/content` }))).statusCode).toBe(200)
    const row = await expectAudit(t, { action: 'file.downloaded', outcome: 'success', actorId: admin.id, targetId: id })
    expect(row.details).toMatchObject({ projectId, name: 'audited.txt' })
    expect(await auditRows(t, { action: 'file.downloaded', outcome: 'success', actorId: viewer.id, targetId: id })).toEqual([])
  })
})

describe('run artifacts', () => {
  it('are uploaded by the agent holding the run, listed in its history with a file.uploaded event; any other agent or an ended run is refused', async () => {
    const runId = await runNow(t.app, owner, taskId)
    const artifact = (who: TestAgent, name = 'out.log') => t.app.inject(asAgent(who, { method: 'POST', url: `/api/v1/executions/${runId}/artifacts?name=${name}`, headers: { 'content-type': 'text/plain' }, payload: 'build ok\n' }))
    // Queued, not yet claimed: no agent holds it.
    expect((await artifact(agent)).statusCode).toBe(404)
    const claimed = await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
    expect(claimed.json().id).toBe(runId)
    const stored = await artifact(agent)
    expect(stored.statusCode, stored.body).toBe(201)
    expect(stored.json()).toMatchObject({ kind: 'artifact', executionId: runId, projectId, agentId: agent.id, uploadedBy: null })
    // Another agent (of another owner) cannot tell the run exists; a user's token is not an agent's key.
    expect((await artifact(otherAgent)).statusCode).toBe(404)
    expect((await put(owner, `/api/v1/executions/${runId}/artifacts?name=x.log`)).statusCode).toBe(403)

    const listed = await t.app.inject(as(viewer, { method: 'GET', url: `/api/v1/executions/${runId}/artifacts` }))
    expect(listed.json().items.map((f: { name: string }) => f.name)).toEqual(['out.log'])
    expect((await t.app.inject(as(stranger, { method: 'GET', url: `/api/v1/executions/${runId}/artifacts` }))).statusCode).toBe(404)
    const [event] = await t.app.db.select().from(outbox).where(and(eq(outbox.type, 'file.uploaded'), eq(outbox.aggregate, `execution:${runId}`)))
    expect(event?.data).toMatchObject({ id: stored.json().id, executionId: runId, name: 'out.log' })

    expect((await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${runId}/complete` }))).statusCode).toBe(200)
    const late = await artifact(agent, 'late.log')
    expect(late.statusCode).toBe(409)
    expect(late.json().code).toBe('FILE_RUN_NOT_HELD')
  })
})
