import { eq } from 'drizzle-orm'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser, type TestUser } from '../../../test/helpers/auth.ts'
import { asAgent, makeProject, makeTask, registerAgent, runNow } from '../../../test/helpers/work.ts'
import { createLocalStorage } from '../../platform/adapters/local-storage.ts'
import { listCursors } from '../../platform/cursors.ts'
import { outbox } from '../../platform/events-table.ts'
import type { Storage } from '../../platform/storage.ts'
import { createFilesService } from './service.ts'
import { files } from './table.ts'

let t: TestApp
let dataDir: string
let owner: TestUser
let storage: Storage

const put = (url: string, body = 'bytes') => t.app.inject(as(owner, { method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: body }))
const rowOf = async (id: string) => (await t.app.db.select().from(files).where(eq(files.id, id)))[0]

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bp-files-del-'))
  t = await createTestApp({ env: { DATA_DIR: dataDir, FILES_ARTIFACT_RETENTION_DAYS: '7' } })
  owner = await makeUser(t.app)
  // The app's own adapter reads the same folder: what it stored is visible here.
  storage = createLocalStorage(join(dataDir, 'files'))
})
afterAll(async () => {
  await t.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('deleting files', () => {
  it('DELETE removes the bytes, then the row, with a file.deleted event', async () => {
    const projectId = await makeProject(t.app, owner)
    const id = (await put(`/api/v1/projects/${projectId}/files?name=gone.txt`)).json().id as string
    const { storageKey } = (await rowOf(id))!
    expect(await storage.size(storageKey)).toBe(5)
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/files/${id}` }))).statusCode).toBe(204)
    expect(await storage.size(storageKey)).toBeUndefined()
    expect(await rowOf(id)).toBeUndefined()
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/files/${id}` }))).statusCode).toBe(404)
    const events = await t.app.db.select().from(outbox).where(eq(outbox.aggregate, `file:${id}`))
    expect(events.map((e) => e.type).sort()).toEqual(['file.deleted', 'file.uploaded'])
  })

  it('deleting a project or a task deletes its files in the background, and a crash mid-delete is finished by the next sweep', async () => {
    const projectId = await makeProject(t.app, owner)
    const taskId = (await makeTask(t.app, owner, await makeProject(t.app, owner))).id
    const projectFile = (await put(`/api/v1/projects/${projectId}/files?name=p.txt`)).json().id as string
    const taskFile = (await put(`/api/v1/tasks/${taskId}/files?name=t.txt`)).json().id as string
    const keys = [(await rowOf(projectFile))!.storageKey, (await rowOf(taskFile))!.storageKey]
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/projects/${projectId}` }))).statusCode).toBe(204)
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/tasks/${taskId}` }))).statusCode).toBe(204)
    // The owners are gone at once; their files are not reachable, and still tracked.
    expect((await t.app.inject(as(owner, { method: 'GET', url: `/api/v1/files/${projectFile}` }))).statusCode).toBe(404)
    expect((await rowOf(projectFile))?.status).toBe('active')

    // A node whose storage dies while deleting bytes: the rows are marked, the bytes stay, the rows stay.
    const crashing: Storage = { ...storage, delete: async () => { throw new Error('node crashed mid-delete') } }
    const crashed = createFilesService({
      db: t.app.db,
      events: t.app.events,
      audit: t.app.securityEvents,
      storage: crashing,
      signer: { sign: () => '', check: () => 'invalid' },
      limits: t.app.config.files,
      projects: t.app.projects,
      tasks: t.app.tasks,
      executions: t.app.executions,
      log: t.app.log,
      cursors: listCursors(t.app.config)
    })
    expect(await crashed.sweep(new Date())).toMatchObject({ marked: 2, deleted: 0 })
    for (const id of [projectFile, taskFile]) expect((await rowOf(id))?.status).toBe('deleting')
    for (const key of keys) expect(await storage.size(key)).toBe(5)

    // The next sweep, on any node, finishes the job: bytes first, then rows.
    expect(await t.app.files.sweep(new Date())).toMatchObject({ marked: 0, deleted: 2 })
    for (const id of [projectFile, taskFile]) expect(await rowOf(id)).toBeUndefined()
    for (const key of keys) expect(await storage.size(key)).toBeUndefined()
  })

  it('deletes run artifacts past FILES_ARTIFACT_RETENTION_DAYS', async () => {
    const projectId = await makeProject(t.app, owner)
    const agent = await registerAgent(t.app, owner, { projectId })
    const runId = await runNow(t.app, owner, (await makeTask(t.app, owner, projectId)).id)
    await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
    const id = (await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${runId}/artifacts?name=out.log`, headers: { 'content-type': 'text/plain' }, payload: 'log' }))).json().id as string
    const { storageKey } = (await rowOf(id))!
    const day = 86_400_000
    await t.app.files.sweep(new Date(Date.now() + 6 * day))
    expect((await rowOf(id))?.status).toBe('active')
    expect(await storage.size(storageKey)).toBe(3)
    await t.app.files.sweep(new Date(Date.now() + 8 * day))
    expect(await rowOf(id)).toBeUndefined()
    expect(await storage.size(storageKey)).toBeUndefined()
  })

  it('keeps a run\'s artifacts with the run when its task is deleted (runs are history, never deleted), until retention', async () => {
    const projectId = await makeProject(t.app, owner)
    const agent = await registerAgent(t.app, owner, { projectId })
    const taskId = (await makeTask(t.app, owner, projectId)).id
    const runId = await runNow(t.app, owner, taskId)
    await t.app.inject(asAgent(agent, { method: 'POST', url: '/api/v1/agents/me/claim?wait=0' }))
    const id = (await t.app.inject(asAgent(agent, { method: 'POST', url: `/api/v1/executions/${runId}/artifacts?name=build.log`, headers: { 'content-type': 'text/plain' }, payload: 'built' }))).json().id as string
    const { storageKey } = (await rowOf(id))!
    expect((await t.app.inject(as(owner, { method: 'DELETE', url: `/api/v1/tasks/${taskId}` }))).statusCode).toBe(204)
    await t.app.files.sweep(new Date())
    expect((await rowOf(id))?.status).toBe('active')
    expect(await storage.size(storageKey)).toBe(5)
    await t.app.files.sweep(new Date(Date.now() + 8 * 86_400_000))
    expect(await rowOf(id)).toBeUndefined()
    expect(await storage.size(storageKey)).toBeUndefined()
  })
})
