import fp from 'fastify-plugin'

/** MailMessage is a plain-text email. */
export interface MailMessage { to: string, subject: string, text: string }

/** Mailer is the mail port: SMTP when SMTP_URL is set, the log in development. */
export interface Mailer {
  send: (message: MailMessage) => Promise<void>
  close: () => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    mailer: Mailer
  }
}

/** MailerOptions lets a test hand in its own mailer. */
export interface MailerOptions { mailer?: Mailer }

/**
 * mailer picks the adapter: SMTP_URL → nodemailer; otherwise, outside production, the message is
 * written to the log so a developer can follow the link; in production without SMTP_URL mail is
 * dropped with a warning (a log must never hold reset tokens there).
 */
export default fp<MailerOptions>(async function mailer (app, options) {
  const { smtpUrl, from } = app.config.mail
  let port: Mailer
  if (options.mailer) port = options.mailer
  else if (smtpUrl) port = (await import('./adapters/smtp-mailer.ts')).createSmtpMailer(smtpUrl, from)
  else if (!app.config.production) {
    port = {
      send: async (m) => { app.log.info({ mail: { to: m.to, subject: m.subject, text: m.text } }, 'mail (no SMTP_URL set: logged instead of sent)') },
      close: async () => {}
    }
  } else {
    port = {
      send: async (m) => { app.log.warn({ mail: { subject: m.subject } }, 'mail dropped: set SMTP_URL to send mail') },
      close: async () => {}
    }
  }
  // Sending never fails the request that asked for it: the failure is logged instead.
  const safe: Mailer = {
    send: async (m) => {
      try { await port.send(m) } catch (err) { app.log.error({ err: { message: (err as Error).message }, subject: m.subject }, 'mail could not be sent') }
    },
    close: port.close
  }
  app.decorate('mailer', safe)
  app.addHook('onClose', async () => { await port.close() })
}, { name: 'mailer' })
