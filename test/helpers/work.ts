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

/** ProjectRoles are the callers of a security test's access table: a project's owner, an editor and a viewer of it, a stranger to it, and an admin. */
export interface ProjectRoles { owner: TestUser, editor: TestUser, viewer: TestUser, stranger: TestUser, admin: TestUser, projectId: string }

/** makeProjectRoles creates the five users and the owner's project with the editor and viewer as members, through the API. */
export async function makeProjectRoles (app: FastifyInstance): Promise<ProjectRoles> {
  const [owner, stranger, admin] = await Promise.all([makeUser(app), makeUser(app), makeUser(app, { roles: ['admin'] })])
  const projectId = await makeProject(app, owner)
  const editor = await makeMember(app, owner, projectId, 'editor')
  const viewer = await makeMember(app, owner, projectId, 'viewer')
  return { owner, editor, viewer, stranger, admin, projectId }
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
