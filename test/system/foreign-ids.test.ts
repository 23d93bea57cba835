import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser, type TestUser } from '../helpers/auth.ts'
import { makeProject, makeTask, registerAgent, runNow, type TestAgent } from '../helpers/work.ts'

// SECURITY.md AZ-02 (OWASP API1:2023; ASVS 8.2.2): another user's ids put in a body or a query
// string. Every request field ending in `Id` that the OpenAPI document lists gets the victim's ids
// from the attacker's own session: the answer is 404 (same as a missing id) or an empty list, and
// the victim's rows are byte-for-byte unchanged afterwards (nothing created in, or moved out of,
// the victim's project).

describe('foreign ids in bodies and query strings (AZ-02)', () => {
  let t: TestApp
  let victim: TestUser
  let attacker: TestUser
  let victimProject: string
  let victimTask: string
  let victimAgent: TestAgent
  let victimRun: string
  let attackerProject: string
  let attackerTask: string

  /** snapshot is every row of the victim's project and what hangs off it, as text. */
  async function snapshot (): Promise<string> {
    const { rows } = await t.app.dbPool.query(`
      SELECT (SELECT json_agg(p ORDER BY p.id) FROM projects p WHERE p.id = $1)::text AS projects,
             (SELECT json_agg(x ORDER BY x.id) FROM tasks x WHERE x.project_id = $1)::text AS tasks,
             (SELECT json_agg(a ORDER BY a.id) FROM agents a WHERE a.project_id = $1)::text AS agents,
             (SELECT json_agg(e ORDER BY e.id) FROM executions e WHERE e.task_id IN (SELECT id FROM tasks WHERE project_id = $1))::text AS runs`, [victimProject])
    return JSON.stringify(rows[0])
  }

  beforeAll(async () => {
    t = await createTestApp()
    ;[victim, attacker] = await Promise.all([makeUser(t.app), makeUser(t.app)])
    victimProject = await makeProject(t.app, victim, 'victim')
    victimTask = (await makeTask(t.app, victim, victimProject)).id
    victimAgent = await registerAgent(t.app, victim, { projectId: victimProject })
    victimRun = await runNow(t.app, victim, victimTask)
    attackerProject = await makeProject(t.app, attacker, 'attacker')
    attackerTask = (await makeTask(t.app, attacker, attackerProject)).id
  }, 60_000)
  afterAll(async () => { await t?.close() })

  it('AZ-02: the document lists the Id fields this test covers (a new one must be added here)', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { parameters?: Array<{ in: string, name: string }>, requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, { properties?: Record<string, unknown> }> } }> } }>> }
    const fields = new Set<string>()
    for (const [path, item] of Object.entries(doc.paths)) {
      if (path.startsWith('/api/v1/admin/')) continue
      for (const [method, op] of Object.entries(item)) {
        for (const p of op.parameters ?? []) if (p.in === 'query' && /Ids?$/.test(p.name)) fields.add(`${method.toUpperCase()} ${path} ?${p.name}`)
        const props = op.requestBody?.content?.['application/json']?.schema?.properties ?? {}
        for (const [key, sub] of Object.entries(props)) {
          if (/Ids?$/.test(key)) fields.add(`${method.toUpperCase()} ${path} ${key}`)
          // WebAuthn's `response.rawId` is the authenticator's credential id, not a Backplane object's
          // id: the passkeys service looks it up among the signed-in user's own passkeys (PK-01…PK-03).
          for (const inner of Object.keys(sub.properties ?? {})) if (/Ids?$/.test(inner) && inner !== 'rawId') fields.add(`${method.toUpperCase()} ${path} ${key}.${inner}`)
        }
      }
    }
    expect([...fields].sort()).toEqual([
      'GET /api/v1/agents ?projectId',
      'GET /api/v1/executions ?agentId',
      'GET /api/v1/executions ?projectId',
      'GET /api/v1/executions ?taskId',
      'GET /api/v1/projects ?ownerId',
      'PATCH /api/v1/tasks/{id} target.agentId',
      'POST /api/v1/agents projectId',
      'POST /api/v1/projects/{id}/tasks target.agentId'
    ])
  })

  it('AZ-02: foreign projectId, ownerId, taskId and agentId in query strings give 404 or an empty list, never the victim\'s rows', async () => {
    const before = await snapshot()
    const cases = [
      `/api/v1/agents?projectId=${victimProject}`,
      `/api/v1/projects?ownerId=${victim.id}`,
      `/api/v1/executions?projectId=${victimProject}`,
      `/api/v1/executions?taskId=${victimTask}`,
      `/api/v1/executions?agentId=${victimAgent.id}`
    ]
    for (const url of cases) {
      const res = await t.app.inject(as(attacker, { method: 'GET', url }))
      expect([200, 404], `${url}: ${res.statusCode} ${res.body}`).toContain(res.statusCode)
      if (res.statusCode === 200) expect((res.json() as { items: unknown[] }).items, url).toEqual([])
      for (const secret of [victimProject, victimTask, victimAgent.id, victimRun]) expect(res.body, url).not.toContain(secret)
    }
    expect(await snapshot()).toBe(before)
  })

  it('AZ-02: foreign projectId and agentId in bodies create nothing in, and move nothing out of, the victim\'s project', async () => {
    const before = await snapshot()
    const attempts = [
      { method: 'POST' as const, url: '/api/v1/agents', payload: { name: 'intruder', projectId: victimProject } },
      { method: 'POST' as const, url: `/api/v1/projects/${attackerProject}/tasks`, payload: { name: 'borrow', target: { agentId: victimAgent.id } } },
      { method: 'PATCH' as const, url: `/api/v1/tasks/${attackerTask}`, payload: { target: { agentId: victimAgent.id } } },
      // Not a field of the schema: refused as unknown, so a task cannot be moved between projects.
      { method: 'PATCH' as const, url: `/api/v1/tasks/${attackerTask}`, payload: { projectId: victimProject } },
      { method: 'POST' as const, url: `/api/v1/projects/${victimProject}/tasks`, payload: { name: 'planted' } }
    ]
    for (const a of attempts) {
      const res = await t.app.inject(as(attacker, a))
      expect([400, 404], `${a.method} ${a.url} ${JSON.stringify(a.payload)}: ${res.statusCode} ${res.body}`).toContain(res.statusCode)
      // `instance` echoes the URL the attacker sent; anything else naming the victim's ids would leak.
      const body = JSON.stringify({ ...(res.json() as object), instance: undefined })
      for (const secret of [victimProject, victimTask, victimAgent.id]) expect(body).not.toContain(secret)
    }
    expect(await snapshot()).toBe(before)
    const mine = await t.app.dbPool.query('SELECT project_id, target_agent_id FROM tasks WHERE id = $1', [attackerTask])
    expect(mine.rows[0]).toMatchObject({ project_id: attackerProject })
    expect(mine.rows[0].target_agent_id ?? null).toBeNull()
  })
})
