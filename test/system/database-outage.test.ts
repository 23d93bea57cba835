import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { adminQuery } from '../helpers/services.ts'

// The database "goes down" for this app: its connections are cut and new ones refused, on the
// real server (embedded, or the machine's PostgreSQL on the services lane).
let t: TestApp
const adminUrl = inject('adminUrl')
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => {
  await adminQuery(adminUrl, `ALTER DATABASE ${t.db.name} ALLOW_CONNECTIONS true`)
  await t.close()
})

async function cut (): Promise<void> {
  await adminQuery(adminUrl, `ALTER DATABASE ${t.db.name} ALLOW_CONNECTIONS false`)
  await adminQuery(adminUrl, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [t.db.name])
}

describe('RL-02 (PostgreSQL stopped and back): when the database goes away', () => {
  it('readiness turns 503 naming the database, requests get 503 problem+json (never 500), and both recover', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
    await cut()

    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({ status: 'unavailable', checks: { database: { status: 'fail' } } })
    expect(ready.body).not.toMatch(/terminat|connection|ECONN/i)

    const live = await t.app.inject({ method: 'GET', url: '/health/live' })
    expect(live.statusCode).toBe(200)

    // This app has not read the instance yet, so the request needs the database: 503, not 500.
    const probe = await t.app.inject({ method: 'GET', url: '/api/v1/instance' })
    expect(probe.statusCode).toBe(503)
    expect(probe.headers['retry-after']).toBe('1')
    expect(probe.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 })
    expect(probe.body).not.toMatch(/terminat|accepting connections|ECONN/i)

    await adminQuery(adminUrl, `ALTER DATABASE ${t.db.name} ALLOW_CONNECTIONS true`)
    const started = Date.now()
    let status = 0
    while (Date.now() - started < 5000) {
      status = (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode
      if (status === 200) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(status).toBe(200)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/instance' })).statusCode).toBe(200)
  })
})
