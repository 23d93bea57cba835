import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { makeUser, strongPassword, login } from '../../test/helpers/auth.ts'
import { createTestSmtp, type ReceivedMail } from '../../test/helpers/smtp.ts'
import { createSmtpMailer } from './adapters/smtp-mailer.ts'

// A real SMTP server on loopback: the mail really travels over SMTP and is read back from it.
const smtp = createTestSmtp()
const { received } = smtp

let t: TestApp
let port: number
beforeAll(async () => {
  port = await smtp.listen()
  const mailer = createSmtpMailer(`smtp://127.0.0.1:${port}`, 'Backplane <no-reply@backplane.test>')
  t = await createTestApp({ mailer, env: { PUBLIC_URL: 'https://app.example.test' } })
})
afterAll(async () => {
  await t.close()
  await smtp.close()
})

async function waitForMail (to: string): Promise<ReceivedMail> {
  for (let i = 0; i < 100; i++) {
    const found = received.find((m) => m.to.includes(to))
    if (found) return found
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no mail to ${to}`)
}

function decodedBody (raw: string): string {
  // nodemailer uses quoted-printable for long lines: undo soft breaks and =XX escapes.
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

describe('mail over SMTP', () => {
  it('delivers the password reset link, which resets the password once', async () => {
    const user = await makeUser(t.app)
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email: user.email } })
    expect(res.statusCode).toBe(202)
    const mail = await waitForMail(user.email)
    expect(mail.from).toBe('no-reply@backplane.test')
    const body = decodedBody(mail.raw)
    expect(body).toContain('Subject: Reset your password')
    const token = /https:\/\/app\.example\.test\/reset-password\?token=([A-Za-z0-9_-]+)/.exec(body)?.[1]
    expect(token).toBeTruthy()

    const password = strongPassword()
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/reset-password', payload: { token, password } })).statusCode).toBe(204)
    await login(t.app, user.email, password)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/reset-password', payload: { token, password: strongPassword() } })).statusCode).toBe(400)
  })

  it('sends an unknown address a notice without a link, with the same reply (AU-12: the same work as for an account)', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email: 'nobody-here@example.test' } })
    expect(res.statusCode).toBe(202)
    const body = decodedBody((await waitForMail('nobody-here@example.test')).raw)
    expect(body).toContain('Subject: Password reset: no account for this address')
    expect(body).not.toMatch(/reset-password\?token=/)
  })

  it('keeps serving when the SMTP server is gone (the failure is logged, not thrown)', async () => {
    const dead = createSmtpMailer('smtp://127.0.0.1:1', 'x@example.test')
    const app = await createTestApp({ mailer: dead })
    try {
      const user = await makeUser(app.app)
      const res = await app.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email: user.email } })
      expect(res.statusCode).toBe(202)
    } finally {
      await app.close()
    }
  })
})
