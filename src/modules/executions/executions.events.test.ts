import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PublishedEvent } from '../../platform/events.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { asAgent, makeProject, makeTask, registerAgent, runNow } from '../../../test/helpers/work.ts'

let t: TestApp
let owner: TestUser
let projectId: string
const seen: PublishedEvent[] = []

beforeAll(async () => {
  t = await createTestApp({ env: { EXECUTION_LEASE_SECONDS: '30' } })
  t.app.events.subscribe((e) => { seen.push(e) })
  owner = await makeUser(t.app)
  projectId = await makeProject(t.app, owner)
})
afterAll(async () => { await t.close() })

async function published (aggregate: string): Promise<PublishedEvent[]> {
  while (await t.app.events.relayOnce() > 0) { /* drain */ }
  await new Promise((resolve) => setTimeout(resolve, 20))
  return seen.filter((e) => e.aggregate === aggregate)
}

describe('events of runs and agents', () => {
  it('records each step of a run, in order, on the project\'s and the agent\'s channels', async () => {
    const agent = await registerAgent(t.app, owner, { projectId })
    const task = await makeTask(t.app, owner, projectId, { retry: { maxAttempts: 2, backoffSeconds: 60 } })
    const id = await runNow(t.app, owner, task.id)
    await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
    await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/progress`, payload: { progress: 40 } }))
    await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/progress`, payload: { log: 'no event for a log line\n' } }))
    await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${id}/fail`, payload: { error: 'boom' } }))
    const run = await published(`execution:${id}`)
    expect(run.map((e) => e.type)).toEqual(['execution.queued', 'execution.started', 'execution.progress', 'execution.failed'])
    expect(run[3]!.channels).toEqual([`project:${projectId}`, `agent:${agent.id}`])
    expect(run[3]!.data).toMatchObject({ id, status: 'failed', error: 'boom', attempt: 1 })
    expect(JSON.stringify(run)).not.toContain('payload')
    // The retry is a run of its own, queued in the same transaction as the failure.
    const retry = seen.find((e) => e.type === 'execution.queued' && (e.data as { attempt: number }).attempt === 2)
    expect(retry).toBeDefined()

    const agentEvents = await published(`agent:${agent.id}`)
    expect(agentEvents.map((e) => e.type)).toEqual(['agent.registered', 'agent.went_online', 'agent.status_changed'])
    expect(agentEvents[1]!.data).toMatchObject({ from: 'offline', status: 'busy' })
  })

  it('records a cancellation and an agent that went offline', async () => {
    const agent = await registerAgent(t.app, owner, { projectId })
    await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/heartbeat', payload: {} }))
    await t.app.agents.sweepOffline(new Date(Date.now() + 120_000))
    const types = (await published(`agent:${agent.id}`)).map((e) => e.type)
    expect(types.slice(-1)).toEqual(['agent.went_offline'])
    const task = await makeTask(t.app, owner, projectId)
    const id = await runNow(t.app, owner, task.id)
    await t.app.inject(as(owner, { method: 'POST', url: `/api/v1/executions/${id}/cancel` }))
    expect((await published(`execution:${id}`)).map((e) => e.type)).toEqual(['execution.queued', 'execution.cancelled'])
  })
})
