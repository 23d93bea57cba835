import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createAdminApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, type TestUser } from '../../../test/helpers/auth.ts'
import { registerAgent } from '../../../test/helpers/work.ts'
import { agents } from '../agents/index.ts'
import { frontends } from '../frontends/index.ts'
import { apiKeys } from './table.ts'

// An agent's key and a frontend's key belong to their owner row: the database holds the link
// (api_keys.agent_id and api_keys.frontend_id are foreign keys, ON DELETE CASCADE), not the services.
let t: TestApp
let admin: TestUser
beforeAll(async () => { ({ t, admin } = await createAdminApp()) })
afterAll(async () => { await t.close() })

const MISSING = '0190e7a4-0000-7000-8000-00000000dead'

/** pgCode is the PostgreSQL error code of a failed query, wherever the driver or Drizzle put it. */
function pgCode (err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

async function createFrontend (): Promise<string> {
  const res = await t.app.inject(as(admin, { method: 'POST', url: '/api/v1/admin/frontends', payload: { name: `fk-${Date.now().toString(36)}` } }))
  expect(res.statusCode, res.body).toBe(201)
  return (res.json() as { frontend: { id: string } }).frontend.id
}

const keysOfAgent = (id: string) => t.app.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.agentId, id))
const keysOfFrontend = (id: string) => t.app.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.frontendId, id))

describe('api_keys owner foreign keys', () => {
  it('deleting an agent through the API deletes its keys', async () => {
    const agent = await registerAgent(t.app, admin, { name: 'fk-api' })
    expect(await keysOfAgent(agent.id)).toHaveLength(1)
    expect((await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/agents/${agent.id}` }))).statusCode).toBe(204)
    expect(await keysOfAgent(agent.id)).toHaveLength(0)
  })

  it('deleting an agent row directly deletes its keys too: the database enforces it', async () => {
    const agent = await registerAgent(t.app, admin, { name: 'fk-row' })
    await t.app.db.delete(agents).where(eq(agents.id, agent.id))
    expect(await keysOfAgent(agent.id)).toHaveLength(0)
  })

  it('deleting a frontend, through the API or its row, deletes its keys', async () => {
    const viaApi = await createFrontend()
    expect(await keysOfFrontend(viaApi)).toHaveLength(1)
    expect((await t.app.inject(as(admin, { method: 'DELETE', url: `/api/v1/admin/frontends/${viaApi}` }))).statusCode).toBe(204)
    expect(await keysOfFrontend(viaApi)).toHaveLength(0)
    const direct = await createFrontend()
    await t.app.db.delete(frontends).where(eq(frontends.id, direct))
    expect(await keysOfFrontend(direct)).toHaveLength(0)
  })

  it('refuses a key naming an agent or a frontend that does not exist (23503)', async () => {
    const row = { name: 'orphan', secretHash: 'x'.repeat(64), userId: admin.id }
    const orphanAgent = await t.app.db.insert(apiKeys).values({ ...row, prefix: 'orphanag', agentId: MISSING }).then(() => undefined, (err: unknown) => err)
    expect(pgCode(orphanAgent)).toBe('23503')
    const orphanFrontend = await t.app.db.insert(apiKeys).values({ ...row, userId: null, prefix: 'orphanfe', frontendId: MISSING }).then(() => undefined, (err: unknown) => err)
    expect(pgCode(orphanFrontend)).toBe('23503')
  })
})
