import fp from 'fastify-plugin'
import { isBrokenCircuitError } from 'cockatiel'
import type { Mailer, MailMessage } from './mailer-port.ts'
import { jobIdFor } from './queue-port.ts'

export type { Mailer, MailMessage, SendOptions } from './mailer-port.ts'

/** MAIL_JOB is the queue job that delivers one message over SMTP. */
export const MAIL_JOB = 'mail.send'

declare module 'fastify' {
  interface FastifyInstance {
    mailer: Mailer
  }
}

/** MailerOptions lets a test hand in its own mailer. */
export interface MailerOptions { mailer?: Mailer }

/**
 * mailer picks the adapter: SMTP_URL → nodemailer behind the job queue (durable, retried, SMTP
 * breaker); a test's own mailer is called directly; otherwise, outside production, the message is
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
      send: async (m) => { app.log.info({ mail: { to: m.to, subject: m.subject, text: m.text, headers: m.headers } }, 'mail (no SMTP_URL set: logged instead of sent)') },
      close: async () => {}
    }
  } else {
    port = {
      send: async (m) => { app.log.warn({ mail: { subject: m.subject } }, 'mail dropped: set SMTP_URL to send mail') },
      close: async () => {}
    }
  }
  if (!options.mailer && smtpUrl) {
    // Durable delivery: the message is a job; the SMTP breaker makes a dead server cost a failed
    // attempt (retried later with back-off: 5 s, 10 s … up to an hour, for about a day) instead of a timeout each.
    const smtp = port
    const breaker = app.breakers.create('smtp', { counts: () => true, threshold: 3, halfOpenAfterMs: 5000 })
    app.queue.define<MailMessage>(MAIL_JOB, async (job) => {
      await breaker.execute(() => smtp.send(job.data)).catch((err: unknown) => {
        throw isBrokenCircuitError(err) ? new Error('SMTP breaker open: the server failed recently; retrying later') : err
      })
    }, { retryLimit: 30, retryDelaySeconds: 5, retryBackoff: true, concurrency: 2 })
    const queued: Mailer = {
      send: async (m, tx, options) => {
        try {
          const message: MailMessage = { to: m.to, subject: m.subject, text: m.text, ...(m.headers ? { headers: m.headers } : {}) }
          await app.queue.send(MAIL_JOB, message, options?.key ? { id: jobIdFor(MAIL_JOB, options.key) } : {}, tx)
        } catch (err) {
          // The request that asked for mail is not failed for it (as before), but now this is rare:
          // only when the queue itself cannot take the job.
          app.log.error({ err: { message: (err as Error).message }, subject: m.subject }, 'mail could not be queued')
          if (tx) throw err
        }
      },
      close: port.close
    }
    app.decorate('mailer', queued)
    app.addHook('onClose', async () => { await port.close() })
    return
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
}, { name: 'mailer', dependencies: ['queue', 'breakers'] })
