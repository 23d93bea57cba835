import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Received is one request a test receiver got: headers and the raw body bytes as text. */
export interface Received { at: number, method: string, path: string, headers: IncomingHttpHeaders, body: string }

/** Reply decides how a receiver answers one request (it may answer late, badly, or never). */
export type Reply = (req: IncomingMessage, res: ServerResponse, received: Received) => void

/** Receiver is a real HTTP server on 127.0.0.1 that records every request. */
export interface Receiver { url: string, port: number, requests: Received[], reply: Reply, close: () => Promise<void> }

/** startReceiver listens on an ephemeral loopback port; `reply` answers 204 unless replaced. */
export async function startReceiver (reply: Reply = (_req, res) => { res.statusCode = 204; res.end() }): Promise<Receiver> {
  const receiver: Receiver = { url: '', port: 0, requests: [], reply, close: async () => {} }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const received = { at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      receiver.requests.push(received)
      receiver.reply(req, res, received)
    })
  })
  // Bad receivers never answer: closing must not wait for them.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.port = (server.address() as AddressInfo).port
  receiver.url = `http://127.0.0.1:${receiver.port}`
  receiver.close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
  return receiver
}

/**
 * verifyStandardWebhook checks a delivery the way a receiver following the Standard Webhooks
 * specification does, written here from the specification and independent of the sender's code:
 * the key is the base64 after `whsec_`; the signed content is `id.timestamp.body`; the header is a
 * space-separated list of `v1,<base64>` entries, one of which must match (compared in constant
 * time); the timestamp must be within five minutes. Returns the reason when it fails.
 */
export function verifyStandardWebhook (secret: string, headers: IncomingHttpHeaders, body: string, nowSeconds = Math.floor(Date.now() / 1000)): string | null {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  const signatures = headers['webhook-signature']
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return 'missing headers'
  if (!/^[0-9]+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return 'timestamp outside tolerance'
  if (!secret.startsWith('whsec_')) return 'not a whsec_ secret'
  const key = Buffer.from(secret.substring(6), 'base64')
  const expected = createHmac('sha256', key).update(Buffer.from(`${id}.${timestamp}.${body}`, 'utf8')).digest()
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',')
    if (comma < 0 || entry.substring(0, comma) !== 'v1') continue
    const given = Buffer.from(entry.substring(comma + 1), 'base64')
    if (given.length === expected.length && timingSafeEqual(given, expected)) return null
  }
  return 'no signature matches'
}

/** waitFor polls until the check returns a value (not undefined/false), or fails after `ms`. */
export async function waitFor<T> (check: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
