/**
 * The types of the realtime client (`realtime.ts`): what the server sends, what the client takes
 * and returns. Like the client, this file imports nothing.
 */

/** RealtimeEvent is one event as delivered on a channel; `id` is stable (the same event on another channel has the same id). */
export interface RealtimeEvent<T = Record<string, unknown>> {
  channel: string
  id: string
  /** event is the event type, e.g. `execution.completed`. */
  event: string
  data: T
  at: string
}

/** RealtimeError is a refusal sent by the server (`code` as in the protocol, e.g. CHANNEL_NOT_FOUND). */
export interface RealtimeError { code: string, message: string, channel?: string }

/** RealtimeState is where the client stands: it is `closed` only after close() or a revoked session (4003). */
export type RealtimeState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** WebSocketLike is what the client needs of a WebSocket: the browser's, Node's, or `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number
  send: (data: string) => void
  close: (code?: number, reason?: string) => void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number, reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

/**
 * WebSocketConstructor builds a socket with the browser WebSocket's shape (WebSocketLike): the global
 * one, or `ws`'s `WebSocket` (typed loosely, as each library types its events its own way).
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object

/** RealtimeClientOptions configure createRealtimeClient; give `token` or `getTicket`. */
export interface RealtimeClientOptions {
  /** url is the socket address, e.g. `wss://api.example.com/api/v1/realtime`. */
  url: string
  /** token is an access token, or a function returning a fresh one (called at every (re)connect and before expiry). */
  token?: string | (() => string | Promise<string>)
  /** getTicket fetches a one-time ticket (POST /api/v1/realtime/ticket); browsers use this. */
  getTicket?: () => Promise<string>
  WebSocket?: WebSocketConstructor
  /** backoff bounds the reconnect delay: a random wait up to min(maxMs, initialMs × 2^attempt). */
  backoff?: { initialMs?: number, maxMs?: number }
  /** pingIntervalMs sends a ping this often and reconnects when the previous one got no answer (0: off). */
  pingIntervalMs?: number
  /** onGap is told that events of a channel could not be replayed: refetch that channel's state. */
  onGap?: (channel: string, lastEventId: string) => void
  /** onError receives the server's refusals (a refused subscribe also rejects its `ready`). */
  onError?: (error: RealtimeError) => void
  /** onStateChange follows the connection; `detail` carries the close code and reason. */
  onStateChange?: (state: RealtimeState, detail?: { code?: number, reason?: string }) => void
}

/** Subscription is one handler on one channel. */
export interface Subscription {
  channel: string
  /** ready resolves when the server confirmed the subscription, and rejects with a RealtimeError if it refused. */
  ready: Promise<void>
  unsubscribe: () => void
}

/** RealtimeClient is what createRealtimeClient returns. */
export interface RealtimeClient {
  subscribe: <T = Record<string, unknown>>(channel: string, handler: (event: RealtimeEvent<T>) => void, options?: { lastEventId?: string }) => Subscription
  /** unsubscribe drops every handler of a channel. */
  unsubscribe: (channel: string) => void
  /** lastEventId is the id of the last event delivered on a channel (what a resume starts after). */
  lastEventId: (channel: string) => string | undefined
  readonly state: RealtimeState
  close: () => void
}
