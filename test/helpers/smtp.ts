import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

/** ReceivedMail is one message the test SMTP server took: envelope sender, recipients and the raw message. */
export interface ReceivedMail { from: string, to: string[], raw: string }

/** TestSmtp is a real SMTP server on loopback (no auth, no STARTTLS) that keeps every message it receives. */
export interface TestSmtp {
  /** received holds the messages in the order they arrived. */
  received: ReceivedMail[]
  /** listen starts the server on 127.0.0.1 (a free port unless one is given) and returns the port. */
  listen: (port?: number) => Promise<number>
  /** close stops the server. */
  close: () => Promise<void>
}

/** createTestSmtp builds the server; mail really travels over SMTP and is read back from `received`. */
export function createTestSmtp (): TestSmtp {
  const received: ReceivedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData (stream, session, callback) {
      let raw = ''
      stream.on('data', (chunk: Buffer) => { raw += chunk.toString() })
      stream.on('end', () => {
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw })
        callback()
      })
    }
  })
  return {
    received,
    async listen (port = 0) {
      server.listen(port, '127.0.0.1')
      await once(server.server, 'listening')
      return (server.server.address() as AddressInfo).port
    },
    close: () => new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }
}
