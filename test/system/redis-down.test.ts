import { expect, it } from 'vitest'
import { createTestApp } from '../helpers/app.ts'
import { login, makeUser } from '../helpers/auth.ts'

// Decision 6: Redis down is a degradation, never an outage or a crash — at start and at shutdown.
it('starts, serves sign-ins and stops cleanly with Redis unreachable, reporting readiness as degraded', async () => {
  const t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } })
  try {
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toMatchObject({ status: 'degraded', checks: { redis: { status: 'fail' }, database: { status: 'ok' } } })
    const user = await makeUser(t.app)
    await login(t.app, user.email, user.password)
  } finally {
    await t.close()
  }
})
