import type { FastifyInstance, InjectOptions } from 'fastify'
import { as, makeUser, type TestUser } from './auth.ts'

/** makeProject creates a project owned by the user through the API and returns its id. */
export async function makeProject (app: FastifyInstance, owner: TestUser, name = 'Project'): Promise<string> {
  const res = await app.inject(as(owner, { method: 'POST', url: '/api/v1/projects', payload: { name } }))
  if (res.statusCode !== 201) throw new Error(`project creation failed: ${res.statusCode} ${res.body}`)
  return (res.json() as { id: string }).id
}

/** addMember gives a user a role in a project through the API. */
export async function addMember (app: FastifyInstance, owner: TestUser, projectId: string, member: TestUser, role: 'viewer' | 'editor' | 'owner'): Promise<void> {
  const res = await app.inject(as(owner, { method: 'POST', url: `/api/v1/projects/${projectId}/members`, payload: { userId: member.id, role } }))
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`adding a member failed: ${res.statusCode} ${res.body}`)
}

/** makeMember creates a user and adds them to the project with `role`, through the API. */
export async function makeMember (app: FastifyInstance, owner: TestUser, projectId: string, role: 'viewer' | 'editor' | 'owner'): Promise<TestUser> {
  const user = await makeUser(app)
  await addMember(app, owner, projectId, user, role)
  return user
}

/** createTask creates a task through the API with exactly the given body (plus a name) and returns the reply. */
export async function createTask (app: FastifyInstance, user: TestUser, projectId: string, body: Record<string, unknown> = {}) {
  const res = await app.inject(as(user, { method: 'POST', url: `/api/v1/projects/${projectId}/tasks`, payload: { name: 'task', ...body } }))
  if (res.statusCode !== 201) throw new Error(`task create failed: ${res.statusCode} ${res.body}`)
  return res.json() as { id: string, projectId: string, nextRunAt: string | null, nextRuns: string[], [key: string]: unknown }
}

/** makeTask creates a task in the project through the API (on demand only unless a schedule is given). */
export async function makeTask (app: FastifyInstance, user: TestUser, projectId: string, body: Record<string, unknown> = {}): Promise<{ id: string, nextRunAt: string | null }> {
  const res = await app.inject(as(user, { method: 'POST', url: `/api/v1/projects/${projectId}/tasks`, payload: { name: 'Task', schedule: null, ...body } }))
  if (res.statusCode !== 201) throw new Error(`task creation failed: ${res.statusCode} ${res.body}`)
  return res.json() as { id: string, nextRunAt: string | null }
}

/** TestAgent is an agent registered by a test, with its credential. */
export interface TestAgent { id: string, apiKey: string }

/** registerAgent registers an agent through the API (project owners for their project; admins without projectId). */
export async function registerAgent (app: FastifyInstance, user: TestUser, body: { projectId?: string, labels?: string[], name?: string } = {}): Promise<TestAgent> {
  const res = await app.inject(as(user, { method: 'POST', url: '/api/v1/agents', payload: { name: 'worker', ...body } }))
  if (res.statusCode !== 201) throw new Error(`agent registration failed: ${res.statusCode} ${res.body}`)
  const created = res.json() as { agent: { id: string }, apiKey: string }
  return { id: created.agent.id, apiKey: created.apiKey }
}

/** asAgent returns inject options carrying an agent's credential. */
export function asAgent (agent: { apiKey: string }, options: InjectOptions): InjectOptions {
  return { ...options, headers: { ...(options.headers ?? {}), 'x-api-key': agent.apiKey } }
}

/** runNow starts a run of the task through the API and returns the execution id. */
export async function runNow (app: FastifyInstance, user: TestUser, taskId: string): Promise<string> {
  const res = await app.inject(as(user, { method: 'POST', url: `/api/v1/tasks/${taskId}/run` }))
  if (res.statusCode !== 202) throw new Error(`run now failed: ${res.statusCode} ${res.body}`)
  return (res.json() as { id: string }).id
}
