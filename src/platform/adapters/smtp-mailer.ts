import nodemailer from 'nodemailer'
import type { Mailer, MailMessage } from '../mailer-port.ts'

/** createSmtpMailer sends mail through the SMTP server at SMTP_URL (nodemailer, pooled, bounded timeouts). */
export function createSmtpMailer (url: string, from: string): Mailer {
  const parsed = new URL(url)
  parsed.searchParams.set('pool', 'true')
  parsed.searchParams.set('maxConnections', '2')
  parsed.searchParams.set('connectionTimeout', '10000')
  parsed.searchParams.set('greetingTimeout', '10000')
  parsed.searchParams.set('socketTimeout', '20000')
  const transport = nodemailer.createTransport(parsed.toString(), { from })
  return {
    async send (message: MailMessage) {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text, ...(message.headers ? { headers: message.headers } : {}) })
    },
    close: async () => { transport.close() }
  }
}
