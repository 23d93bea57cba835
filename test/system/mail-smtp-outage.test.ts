import { afterAll, expect, it } from 'vitest'
import { freePort } from '../../src/lib/free-port.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser } from '../helpers/auth.ts'
import { createTestSmtp } from '../helpers/smtp.ts'

// Mail is a job: with the SMTP server down the message waits in the queue and is retried, and it
// arrives (once) when the server comes up. A real SMTP server on loopback, started late.
const smtp = createTestSmtp()
const { received } = smtp
let t: TestApp | undefined
afterAll(async () => {
  await t?.close()
  await smtp.close()
})

it('an SMTP outage delays mail instead of losing it: the queued message is delivered once when the server is back', { timeout: 90_000 }, async () => {
  const port = await freePort()
  t = await createTestApp({ mailer: 'configured', env: { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Backplane <no-reply@backplane.test>' } })
  await t.app.queue.start()
  const user = await makeUser(t.app)
  const asked = await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email: user.email } })
  expect(asked.statusCode).toBeLessThan(300)

  // The server is down: the job runs, fails, and waits for its retry; nothing is dropped.
  const deadline = Date.now() + 20_000
  let failed = false
  while (!failed && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const stats = await t.app.queue.stats()
    failed = stats.some((s) => s.name === 'mail.send' && s.failed > 0)
  }
  expect(failed).toBe(true)
  expect(received).toEqual([])

  const downFor = Date.now()
  await smtp.listen(port)
  while (received.length === 0 && Date.now() - downFor < 60_000) await new Promise((resolve) => setTimeout(resolve, 200))
  console.log(`mail delivered ${Date.now() - downFor} ms after the SMTP server came up`)
  expect(received.map((m) => m.to)).toEqual([[user.email]])
  expect(received[0]?.raw).toContain('Reset your password')
  // Delivered once: no further copy once the job succeeded.
  await new Promise((resolve) => setTimeout(resolve, 2000))
  expect(received).toHaveLength(1)
})
