import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, login } from '../../../test/helpers/auth.ts'
import { runDemo } from '../../platform/modules.ts'
import { DEMO_EMAIL } from './data.ts'
import { DEMO_REFUSED } from './errors.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

async function demo (app = t.app): Promise<string[]> {
  const lines: string[] = []
  await runDemo(app.modules, { app, report: (line) => { lines.push(line) } })
  return lines
}

describe('backplane seed --demo', () => {
  it('adds an account, its project, two scheduled tasks and an agent, each usable, and reports the credentials once', async () => {
    const lines = await demo()
    const password = /password (\S+)/.exec(lines.join('\n'))?.[1]
    const key = /key (bp_\S+)/.exec(lines.join('\n'))?.[1]
    expect(password).toBeDefined()
    expect(key).toBeDefined()

    const user = await login(t.app, DEMO_EMAIL, password!)
    const projects = (await t.app.inject(as(user, { method: 'GET', url: '/api/v1/projects' }))).json() as { items: Array<{ id: string, name: string, role: string }> }
    expect(projects.items).toEqual([expect.objectContaining({ name: 'Demo project', role: 'owner' })])
    const projectId = projects.items[0]!.id
    const tasks = (await t.app.inject(as(user, { method: 'GET', url: `/api/v1/projects/${projectId}/tasks` }))).json() as { items: Array<{ name: string, schedule: string, nextRunAt: string | null, target: unknown }> }
    expect(tasks.items.map((task) => task.name).sort()).toEqual(['Health probe', 'Nightly report'])
    for (const task of tasks.items) {
      expect(task.nextRunAt).not.toBeNull()
      expect(task.target).toMatchObject({ labels: ['demo'] })
    }

    // The agent's key works as an agent credential, for the demo project's work.
    const beat = await t.app.inject({ method: 'POST', url: '/api/v1/agents/me/heartbeat', headers: { 'x-api-key': key! } })
    expect(beat.statusCode, beat.body).toBe(200)
    expect((beat.json() as { agent: { name: string, labels: string[] } }).agent).toMatchObject({ name: 'demo-agent', labels: ['demo'] })

    // Neither secret reaches the log.
    expect(t.logs.text()).not.toContain(password)
    expect(t.logs.text()).not.toContain(key)
  })

  it('adds nothing the second time, and says so', async () => {
    const counts = async () => (await t.app.dbPool.query('SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM projects)::int AS projects, (SELECT count(*) FROM tasks)::int AS tasks, (SELECT count(*) FROM agents)::int AS agents')).rows[0]
    const before = await counts()
    const lines = await demo()
    expect(lines).toEqual([`demo data is there already (account ${DEMO_EMAIL}); nothing added`])
    expect(await counts()).toEqual(before)
  })

  it('is refused in production', async () => {
    const prod = Object.freeze({ ...t.app.config, env: 'production' as const })
    const app = Object.create(t.app, { config: { value: prod } }) as typeof t.app
    await expect(demo(app)).rejects.toThrow(DEMO_REFUSED)
  })
})
