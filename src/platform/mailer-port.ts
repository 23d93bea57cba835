import type { Database } from './db.ts'

// The mail port: what modules and the adapters see. mailer.ts picks an adapter; an adapter imports
// this file only, so no adapter imports the code that loads it.

/** MailMessage is a plain-text email; `headers` adds header fields (e.g. RFC 8058 `List-Unsubscribe`). */
export interface MailMessage { to: string, subject: string, text: string, headers?: Record<string, string> }

/** SendOptions tune one send. */
export interface SendOptions {
  /** key makes a queued send idempotent: a second send with the same key is dropped (a retried job mails once). */
  key?: string
}

/** Mailer is the mail port: SMTP when SMTP_URL is set, the log in development. */
export interface Mailer {
  /**
   * send hands a message over. With SMTP_URL it is recorded as a `mail.send` job (with `tx`, only if
   * that transaction commits) and delivered with retries, so an SMTP outage delays mail instead of losing it.
   */
  send: (message: MailMessage, tx?: Database, options?: SendOptions) => Promise<void>
  close: () => Promise<void>
}
