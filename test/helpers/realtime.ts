import type { FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import type { DomainEvent } from '../../src/platform/events.ts'

/** Message is a parsed server message. */
export type Message = { type: string, channel?: string, id?: string, event?: string, code?: string, message?: string, reason?: string, lastEventId?: string, data?: Record<string, unknown> } & Record<string, unknown>

/** TestSocket is a real `ws` client with everything it received. */
export interface TestSocket {
  ws: WebSocket
  messages: Message[]
  /** next waits for a message matching the predicate (already received ones count). */
  next: (match: (m: Message) => boolean, ms?: number) => Promise<Message>
  /** closed resolves with the close code and reason. */
  closed: Promise<{ code: number, reason: string }>
  send: (message: unknown) => void
  /** upgradeHeaders are the headers of the 101 reply (a proxy in front may name the node that took the socket). */
  upgradeHeaders: Record<string, string | string[] | undefined>
}

/** Refused is how a handshake refused before the upgrade came back: the HTTP status and problem body. */
export interface Refused { status: number, body: Record<string, unknown> }

/** listen starts the app on a free loopback port and returns its realtime URL. */
export async function listen (app: FastifyInstance): Promise<string> {
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return `${address.replace('http', 'ws')}/api/v1/realtime`
}

/** openSocket connects; it resolves once open, or rejects with the Refused status and body. */
export function openSocket (url: string, options: { token?: string, ticket?: string, origin?: string, headers?: Record<string, string>, protocols?: string[] } = {}): Promise<TestSocket> {
  const target = options.ticket === undefined ? url : `${url}${url.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(options.ticket)}`
  const protocols = options.protocols ?? (options.token === undefined ? undefined : ['bearer', options.token])
  const ws = new WebSocket(target, protocols, { headers: options.headers, ...(options.origin ? { origin: options.origin } : {}) })
  const messages: Message[] = []
  const waiters = new Set<{ match: (m: Message) => boolean, resolve: (m: Message) => void }>()
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Message
    messages.push(message)
    for (const w of [...waiters]) if (w.match(message)) { waiters.delete(w); w.resolve(message) }
  })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.on('close', (code, reason) => { resolve({ code, reason: reason.toString() }) })
  })
  const socket: TestSocket = {
    ws,
    messages,
    closed,
    send: (message) => { ws.send(typeof message === 'string' ? message : JSON.stringify(message)) },
    upgradeHeaders: {},
    next: (match, ms = 5000) => {
      const seen = messages.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const w = { match, resolve: (m: Message) => { clearTimeout(timer); resolve(m) } }
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`no matching message within ${ms} ms; got ${messages.map((m) => [m.type, m.event ?? m.code ?? m.channel].filter(Boolean).join(' ')).join(', ').slice(-1500)}`)) }, ms)
        waiters.add(w)
      })
    }
  }
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => {
        ws.terminate()
        reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode ?? 0, body: body ? JSON.parse(body) as Record<string, unknown> : {} }))
      })
    })
    ws.on('error', reject)
    ws.on('upgrade', (res) => { socket.upgradeHeaders = res.headers })
    ws.on('open', () => { resolve(socket) })
  })
}

/** refusal opens a socket that must be refused, and returns the refusal. */
export async function refusal (url: string, options: Parameters<typeof openSocket>[1]): Promise<Refused> {
  try {
    const s = await openSocket(url, options)
    s.ws.terminate()
  } catch (err) {
    const { status, body } = err as Partial<Refused>
    if (status !== undefined) return { status, body: body ?? {} }
    throw err
  }
  throw new Error('the socket opened')
}

/** subscribe sends a subscribe and waits for its answer: `subscribed` or an error for that channel. */
export async function subscribe (socket: TestSocket, channel: string, lastEventId?: string): Promise<Message> {
  const before = socket.messages.length
  socket.send({ type: 'subscribe', channel, ...(lastEventId ? { lastEventId } : {}) })
  return socket.next((m) => socket.messages.indexOf(m) >= before && (m.type === 'subscribed' || m.type === 'error') && (m.channel === channel || m.channel === undefined))
}

/** emit records an event in its own transaction and publishes it now. */
export async function emit (app: FastifyInstance, event: Partial<DomainEvent> & { channels: string[] }): Promise<void> {
  await app.db.transaction(async (tx) => {
    await app.events.record({ type: 'test.happened', aggregate: event.channels[0] ?? 'test', data: {}, ...event }, tx)
  })
  await relay(app)
}

/** relay publishes everything committed (waiting for a relay pass that another caller, such as the relay loop, holds). */
export async function relay (app: FastifyInstance, ms = 15_000): Promise<void> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    if ((await app.events.relayOnce()) === 0) {
      if ((await pending(app)) === 0) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  throw new Error(`events still unpublished after ${ms} ms`)
}

async function pending (app: FastifyInstance): Promise<number> {
  const { rows } = await app.dbPool.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')
  return (rows[0] as { n: number }).n
}

/** eventsOf lists the event messages a socket received. */
export function eventsOf (socket: TestSocket, channel?: string): Message[] {
  return socket.messages.filter((m) => m.type === 'event' && (channel === undefined || m.channel === channel))
}
