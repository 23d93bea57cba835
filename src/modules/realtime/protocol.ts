/**
 * The realtime wire protocol: JSON text frames, one message per frame. `sdk/realtime.ts` speaks
 * the same protocol (it keeps its own copy of these types so that it has no server imports).
 */

import { isId } from '../../lib/ids.ts'

/** REALTIME_PATH is where the WebSocket is served. */
export const REALTIME_PATH = '/api/v1/realtime'

/** limits are SECURITY.md decision 11, plus the timings of the keep-alive and the session re-check. */
export const limits = {
  /** maxMessageBytes bounds one incoming frame; a larger one closes the socket with 1009. */
  maxMessageBytes: 64 * 1024,
  maxSubscriptions: 100,
  /** maxSocketsPerPrincipal counts the sockets of one user (with their API keys) or one agent on this node. */
  maxSocketsPerPrincipal: 20,
  maxMessagesPerSecond: 50,
  /** maxBufferedBytes is the send buffer past which a socket is a slow consumer and is dropped. */
  maxBufferedBytes: 1024 * 1024,
  /** maxReplay is how many missed events one subscribe replays; more is answered with a gap. */
  maxReplay: 1000,
  maxChannelLength: 200,
  pingIntervalMs: 30_000,
  /** recheckIntervalMs is how often each socket's session (or key) is checked again. */
  recheckIntervalMs: 60_000
} as const

/** closeCodes are the close codes the server uses, each with the reason text sent along. */
export const closeCodes = {
  /** shutdown: the node is stopping; reconnect (to another node). */
  goingAway: 1001,
  /** unsupported: a binary frame. */
  unsupported: 1003,
  /** policy: message flood, or a socket over the per-user cap that raced the handshake check. */
  policy: 1008,
  /** tooBig: a frame over 64 KiB (sent by `ws` itself). */
  tooBig: 1009,
  /** reauthenticate: the token expired or the roles changed; reconnect with fresh credentials. */
  reauthenticate: 4001,
  /** revoked: the session or key ended (logout, password change, disabled, deleted); do not reconnect. */
  revoked: 4003
} as const

/** ClientMessage is what a client may send. */
export type ClientMessage =
  | { type: 'subscribe', channel: string, lastEventId?: string }
  | { type: 'unsubscribe', channel: string }
  | { type: 'ping' }
  | { type: 'auth', token: string }
  | { type: 'auth', ticket: string }

/** ServerMessage is what the server sends. */
export type ServerMessage =
  | { type: 'ready', expiresAt: string | null, limits: { maxMessageBytes: number, maxSubscriptions: number, maxMessagesPerSecond: number } }
  | { type: 'subscribed', channel: string }
  | { type: 'unsubscribed', channel: string, reason?: string }
  | { type: 'event', channel: string, id: string, event: string, data: Record<string, unknown>, at: string }
  | { type: 'gap', channel: string, lastEventId: string }
  | { type: 'authenticated', expiresAt: string | null }
  | { type: 'pong' }
  | { type: 'error', code: ErrorCode, message: string, channel?: string }

/** ErrorCode names why a client message was refused. */
export type ErrorCode =
  | 'BAD_MESSAGE' | 'RATE_LIMITED' | 'SUBSCRIPTION_LIMIT'
  | 'CHANNEL_INVALID' | 'CHANNEL_NOT_FOUND' | 'CHANNEL_FORBIDDEN' | 'CHANNEL_UNAVAILABLE'
  | 'AUTH_INVALID'

/** isUuid accepts the canonical lowercase form only (the form ids are stored and published in). */
export const isUuid = isId

const KEYS: Record<string, readonly string[]> = {
  subscribe: ['type', 'channel', 'lastEventId'],
  unsubscribe: ['type', 'channel'],
  ping: ['type'],
  auth: ['type', 'token', 'ticket']
}

/** parseClientMessage validates one frame; it returns a reason instead of throwing. */
export function parseClientMessage (text: string): ClientMessage | { invalid: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { invalid: 'a message is one JSON object' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { invalid: 'a message is one JSON object' }
  const m = value as Record<string, unknown>
  const allowed = typeof m.type === 'string' ? KEYS[m.type] : undefined
  if (!allowed || !Object.hasOwn(KEYS, m.type as string)) return { invalid: 'type must be subscribe, unsubscribe, ping or auth' }
  const extra = Object.keys(m).find((k) => !allowed.includes(k))
  if (extra !== undefined) return { invalid: `unknown field ${extra.slice(0, 40)}` }
  switch (m.type) {
    case 'subscribe':
    case 'unsubscribe':
      if (typeof m.channel !== 'string' || m.channel.length === 0) return { invalid: 'channel must be a non-empty string' }
      if (m.type === 'subscribe' && m.lastEventId !== undefined) {
        if (!isUuid(m.lastEventId)) return { invalid: 'lastEventId must be an event id' }
        return { type: 'subscribe', channel: m.channel, lastEventId: m.lastEventId }
      }
      return { type: m.type, channel: m.channel }
    case 'ping':
      return { type: 'ping' }
    default: {
      const token = typeof m.token === 'string' && m.token.length <= 8192 ? m.token : undefined
      const ticket = typeof m.ticket === 'string' && m.ticket.length <= 200 ? m.ticket : undefined
      if ((token === undefined) === (ticket === undefined)) return { invalid: 'auth takes either a token or a ticket' }
      return token !== undefined ? { type: 'auth', token } : { type: 'auth', ticket: ticket! }
    }
  }
}
