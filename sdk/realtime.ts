/**
 * A small typed client for Backplane's realtime WebSocket (`/api/v1/realtime`). It runs in browsers
 * and in Node 22+ (the global `WebSocket`), or with any constructor of the same shape (`ws`).
 * It reconnects with exponential back-off and jitter, re-subscribes, resumes each channel from
 * the last event it delivered, and re-authenticates before the credential expires.
 * It needs nothing but `realtime-types.ts`, so the two files can be copied into any frontend as they are.
 */

import type { RealtimeClient, RealtimeClientOptions, RealtimeError, RealtimeEvent, RealtimeState, Subscription, WebSocketConstructor, WebSocketLike } from './realtime-types.ts'

export type { RealtimeClient, RealtimeClientOptions, RealtimeError, RealtimeEvent, RealtimeState, Subscription, WebSocketConstructor, WebSocketLike }

type Handler = (event: RealtimeEvent<never>) => void
interface Entry {
  handlers: Set<Handler>
  lastEventId?: string
  /**
   * resumeFrom is the last event the client received on any channel while this one was live: the
   * channel missed nothing up to it, so a resume starts there (even before its own first event).
   */
  resumeFrom?: string
  confirmed: boolean
  waiting: Array<{ resolve: () => void, reject: (err: RealtimeError) => void }>
  seen: Set<string>
}
type Timer = ReturnType<typeof setTimeout>
type Incoming = { type: string, channel?: string, id?: string, event?: string, data?: Record<string, unknown>, at?: string, code?: string, message?: string, reason?: string, lastEventId?: string, expiresAt?: string | null }

const OPEN = 1
const REVOKED = 4003
const SEEN_MAX = 200

/** createRealtimeClient connects at once and keeps the connection until close(). */
export function createRealtimeClient (options: RealtimeClientOptions): RealtimeClient {
  const Found = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!Found) throw new Error('No WebSocket: pass options.WebSocket (e.g. the `ws` package) on Node before 22')
  const Ctor: WebSocketConstructor = Found
  if (!options.token && !options.getTicket) throw new Error('createRealtimeClient needs a token or getTicket')
  const initialMs = options.backoff?.initialMs ?? 500
  const maxMs = options.backoff?.maxMs ?? 30_000
  const pingMs = options.pingIntervalMs ?? 25_000
  const channels = new Map<string, Entry>()
  let socket: WebSocketLike | undefined
  let state: RealtimeState = 'connecting'
  let attempt = 0
  let stopped = false
  let retry: Timer | undefined
  let reauth: Timer | undefined
  let pinger: ReturnType<typeof setInterval> | undefined
  let awaitingPong = false

  function setState (next: RealtimeState, detail?: { code?: number, reason?: string }): void {
    state = next
    options.onStateChange?.(next, detail)
  }

  const send = (message: object) => { if (socket?.readyState === OPEN) socket.send(JSON.stringify(message)) }
  const token = async () => typeof options.token === 'function' ? options.token() : options.token!

  async function credentials (): Promise<{ url: string, protocols?: string[] }> {
    if (options.getTicket) {
      const ticket = await options.getTicket()
      return { url: `${options.url}${options.url.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}` }
    }
    return { url: options.url, protocols: ['bearer', await token()] }
  }

  function clearTimers (): void {
    clearTimeout(retry)
    clearTimeout(reauth)
    clearInterval(pinger)
  }

  function reconnectLater (detail?: { code?: number, reason?: string }): void {
    clearTimers()
    if (stopped) return
    setState('reconnecting', detail)
    const delay = Math.random() * Math.min(maxMs, initialMs * 2 ** attempt++)
    retry = setTimeout(() => { connect().catch(failed) }, delay)
  }

  /** failed handles a credential fetch that threw (the app's token or ticket function): try again later. */
  function failed (err: unknown): void {
    reconnectLater({ reason: err instanceof Error ? err.message : String(err) })
  }

  /** abandon lets go of a socket at once (a dead one may take long to close) and reconnects. */
  function abandon (ws: WebSocketLike, detail?: { code?: number, reason?: string }): void {
    ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null
    try { ws.close(1000) } catch {}
    if (socket === ws) socket = undefined
    reconnectLater(detail)
  }

  function scheduleReauth (expiresAt: string | null | undefined): void {
    clearTimeout(reauth)
    const canRenew = typeof options.token === 'function' || options.getTicket
    if (!expiresAt || !canRenew) return
    const left = Date.parse(expiresAt) - Date.now()
    // Renew a minute ahead, or at 80 % of a short lifetime.
    const wait = Math.max(0, left > 120_000 ? left - 60_000 : left * 0.8)
    reauth = setTimeout(() => {
      const fresh = options.getTicket ? options.getTicket().then((ticket) => ({ ticket })) : token().then((t) => ({ token: t }))
      // If renewing fails, the server closes the socket at expiry and the reconnect tries again.
      fresh.then((credential) => send({ type: 'auth', ...credential }), () => {})
    }, wait)
  }

  function deliver (message: Incoming): void {
    const entry = channels.get(message.channel ?? '')
    if (!entry || message.id === undefined || entry.seen.has(message.id)) return
    entry.seen.add(message.id)
    if (entry.seen.size > SEEN_MAX) entry.seen.delete(entry.seen.values().next().value!)
    entry.lastEventId = message.id
    for (const other of channels.values()) if (other.confirmed) other.resumeFrom = message.id
    const event = { channel: message.channel!, id: message.id, event: message.event!, data: message.data ?? {}, at: message.at! }
    for (const handler of [...entry.handlers]) {
      try { handler(event as RealtimeEvent<never>) } catch (err) { setTimeout(() => { throw err }) }
    }
  }

  function refuse (channel: string, error: RealtimeError): void {
    const entry = channels.get(channel)
    if (!entry) return
    channels.delete(channel)
    for (const w of entry.waiting) w.reject(error)
  }

  function onMessage (message: Incoming): void {
    switch (message.type) {
      case 'ready':
        attempt = 0
        setState('open')
        for (const [channel, entry] of channels) send({ type: 'subscribe', channel, ...(entry.resumeFrom ? { lastEventId: entry.resumeFrom } : {}) })
        scheduleReauth(message.expiresAt)
        return
      case 'authenticated':
        scheduleReauth(message.expiresAt)
        return
      case 'subscribed': {
        const entry = channels.get(message.channel ?? '')
        if (!entry) return
        entry.confirmed = true
        for (const w of entry.waiting.splice(0)) w.resolve()
        return
      }
      case 'event':
        deliver(message)
        return
      case 'gap':
        options.onGap?.(message.channel ?? '', message.lastEventId ?? '')
        return
      case 'pong':
        awaitingPong = false
        return
      case 'unsubscribed':
        // Only a server-side end carries a reason (access to the channel was lost).
        if (message.reason !== undefined && message.channel !== undefined) {
          const error = { code: 'CHANNEL_ENDED', message: message.reason, channel: message.channel }
          refuse(message.channel, error)
          options.onError?.(error)
        }
        return
      case 'error': {
        const error: RealtimeError = { code: message.code ?? 'ERROR', message: message.message ?? '', ...(message.channel !== undefined ? { channel: message.channel } : {}) }
        if (error.channel !== undefined && !channels.get(error.channel)?.confirmed) refuse(error.channel, error)
        options.onError?.(error)
      }
    }
  }

  async function connect (): Promise<void> {
    if (stopped) return
    const { url, protocols } = await credentials()
    if (stopped) return
    const ws = new Ctor(url, protocols) as WebSocketLike
    socket = ws
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return
      let message: Incoming
      try { message = JSON.parse(event.data) as Incoming } catch { return }
      onMessage(message)
    }
    ws.onopen = () => {
      awaitingPong = false
      if (pingMs > 0) {
        pinger = setInterval(() => {
          if (awaitingPong) return abandon(ws, { reason: 'no answer to ping' })
          awaitingPong = true
          send({ type: 'ping' })
        }, pingMs)
      }
    }
    ws.onerror = () => {}
    ws.onclose = (event) => {
      if (socket === ws) socket = undefined
      for (const entry of channels.values()) entry.confirmed = false
      if (stopped) return
      const detail = { code: event.code, reason: event.reason }
      if (event.code === REVOKED) {
        // The session or key ended: reconnecting would be refused; the application signs in again.
        stopped = true
        clearTimers()
        for (const channel of [...channels.keys()]) refuse(channel, { code: 'SESSION_ENDED', message: event.reason, channel })
        setState('closed', detail)
        return
      }
      reconnectLater(detail)
    }
  }

  function unsubscribe (channel: string): void {
    if (!channels.delete(channel)) return
    send({ type: 'unsubscribe', channel })
  }

  connect().catch(failed)

  return {
    subscribe<T> (channel: string, handler: (event: RealtimeEvent<T>) => void, opts: { lastEventId?: string } = {}): Subscription {
      let entry = channels.get(channel)
      const isNew = !entry
      if (!entry) {
        entry = { handlers: new Set(), confirmed: false, waiting: [], seen: new Set(), ...(opts.lastEventId ? { resumeFrom: opts.lastEventId } : {}) }
        channels.set(channel, entry)
      }
      const own = entry
      own.handlers.add(handler as Handler)
      const ready = own.confirmed
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => { own.waiting.push({ resolve, reject }) })
      ready.catch(() => {})
      if (isNew && state === 'open') send({ type: 'subscribe', channel, ...(own.resumeFrom ? { lastEventId: own.resumeFrom } : {}) })
      return {
        channel,
        ready,
        unsubscribe: () => {
          own.handlers.delete(handler as Handler)
          if (own.handlers.size === 0 && channels.get(channel) === own) unsubscribe(channel)
        }
      }
    },
    unsubscribe,
    lastEventId: (channel: string) => channels.get(channel)?.lastEventId,
    get state () { return state },
    close (): void {
      stopped = true
      clearTimers()
      const ws = socket
      socket = undefined
      if (ws) {
        ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null
        try { ws.close(1000) } catch {}
      }
      setState('closed')
    }
  }
}
