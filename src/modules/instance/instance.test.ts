import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { runSeeds } from '../../platform/modules.ts'
import { adminQuery } from '../../../test/helpers/services.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

describe('GET /api/v1/instance', () => {
  it('describes the instance with a stable UUID v7 id, a name and the running version', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/instance' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(body).toEqual({ id: body.id, name: 'Backplane', version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
  })

  it('keeps the same id when the seed runs again', async () => {
    const before = await adminQuery(t.db.url, 'SELECT key, value, updated_at FROM instance_settings ORDER BY key')
    await runSeeds(t.app.modules, { db: t.app.db, log: t.app.log, demo: false })
    await runSeeds(t.app.modules, { db: t.app.db, log: t.app.log, demo: true })
    const after = await adminQuery(t.db.url, 'SELECT key, value, updated_at FROM instance_settings ORDER BY key')
    expect(after.rows).toEqual(before.rows)
  })

  it('stores rows with the base columns', async () => {
    const { rows } = await adminQuery(t.db.url, 'SELECT id, created_at, updated_at FROM instance_settings LIMIT 1')
    expect(rows[0].id).toMatch(/^[0-9a-f-]{36}$/)
    expect(rows[0].created_at).toBeInstanceOf(Date)
    expect(rows[0].updated_at).toBeInstanceOf(Date)
  })
})
