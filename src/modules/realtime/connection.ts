import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import type { Actor } from '../../platform/auth.ts'
import { createChannelAuthorizer, isRefusal, parseChannel, type Refusal } from './channels.ts'
import type { Conn, Hub, Sub } from './hub.ts'
import { closeCodes, limits, parseClientMessage, type ClientMessage } from './protocol.ts'
import { actorOfSession, type Tickets } from './tickets.ts'

/** Handshake is what the upgrade request established: who the socket acts for and until when. */
export interface Handshake {
  actor: Actor
  principal: string
  keyPrefix?: string
  /** expiresAt is when the credential ends (ms since epoch): the socket closes then unless re-authenticated. */
  expiresAt: number | null
  /** reply is the upgrade's HTTP reply; its response is detached from the socket once that is a WebSocket. */
  reply: FastifyReply
}

/**
 * upgradeView is what an open socket keeps of its upgrade request, for re-authentication: the
 * request itself would keep its Fastify request and reply, its child logger and its headers (the
 * credential among them) alive as long as the socket, ~6 KB a socket.
 */
export function upgradeView (request: FastifyRequest): FastifyRequest {
  const userAgent = request.headers['user-agent']
  return {
    id: request.id,
    ip: request.ip,
    headers: userAgent === undefined ? {} : { 'user-agent': userAgent.slice(0, 512) },
    frontend: request.frontend,
    actor: null,
    query: undefined,
    routeOptions: { url: request.routeOptions.url, config: request.routeOptions.config }
  } as unknown as FastifyRequest
}

// How long a relay pass may take between handing events to pubsub and committing them.
const RECOMMIT_WAIT_MS = 250

const unavailable: Refusal = { code: 'CHANNEL_UNAVAILABLE', message: 'The channel could not be checked just now; subscribe again shortly' }

/** tokenExpiry reads `exp` (ms) from a token the bearer scheme has already verified. */
export function tokenExpiry (token: string): number | null {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: unknown }
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null
  } catch {
    return null
  }
}

/**
 * createConnections runs each socket: the message loop with its rate limit, subscriptions with
 * authorisation and replay, re-authentication, and the credential's expiry.
 */
export function createConnections ({ app, hub, tickets }: { app: FastifyInstance, hub: Hub, tickets: Tickets }) {
  const authorize = createChannelAuthorizer(app)
  const ttlMs = app.config.auth.accessTtlSeconds * 1000

  function setExpiry (conn: Conn, expiresAt: number | null): void {
    clearTimeout(conn.expiry)
    conn.expiresAt = expiresAt
    if (expiresAt === null) return
    const delay = Math.max(0, expiresAt - Date.now())
    // Past ~24 days a timer cannot wait; the periodic re-check closes such a socket instead.
    if (delay > 2 ** 31 - 1) return
    // A user renews with a fresh token; an expired API key is over.
    const [code, reason] = conn.actor.kind === 'user'
      ? [closeCodes.reauthenticate, 'token expired: reconnect or send auth before expiry']
      : [closeCodes.revoked, 'API key expired']
    conn.expiry = setTimeout(() => { hub.drop(conn, code, reason) }, delay)
    conn.expiry.unref()
  }

  /** check runs a subscription's authorisation; a failure to check is a refusal to retry, never a pass. */
  async function check (actor: Actor, channel: string): Promise<Refusal | null> {
    const parsed = parseChannel(channel)
    if (isRefusal(parsed)) return parsed
    try {
      return await authorize(actor, parsed)
    } catch (err) {
      app.log.warn({ err: { message: (err as Error).message }, channel }, 'realtime: could not authorise a subscription')
      return unavailable
    }
  }

  async function replayFrom (lastEventId: string, channel: string) {
    return app.events.replay(lastEventId, [channel], limits.maxReplay + 1).catch((err: unknown) => {
      app.log.warn({ err: { message: (err as Error).message } }, 'realtime: replay failed')
      return undefined
    })
  }

  const current = (conn: Conn, sub: Sub) => !conn.closed && conn.subs.get(sub.channel) === sub

  async function subscribe (conn: Conn, channel: string, lastEventId?: string): Promise<void> {
    const echo = channel.length <= limits.maxChannelLength ? { channel } : {}
    const existing = conn.subs.get(channel)
    if (existing) {
      if (existing.live) hub.send(conn, { type: 'subscribed', channel })
      return
    }
    if (conn.subs.size >= limits.maxSubscriptions) {
      hub.send(conn, { type: 'error', code: 'SUBSCRIPTION_LIMIT', message: `a socket holds at most ${limits.maxSubscriptions} subscriptions`, ...echo })
      return
    }
    const parsed = parseChannel(channel)
    if (isRefusal(parsed)) {
      hub.send(conn, { type: 'error', ...parsed, ...echo })
      return
    }
    // Held from now: what is published while we check and replay is neither lost nor sent early.
    const sub = hub.hold(conn, channel)
    const refusal = await check(conn.actor, channel)
    if (!current(conn, sub)) return
    if (refusal) {
      hub.unsubscribe(conn, channel)
      hub.send(conn, { type: 'error', ...refusal, channel })
      return
    }
    hub.send(conn, { type: 'subscribed', channel })
    let complete = true
    if (lastEventId === undefined) {
      complete = hub.release(sub)
    } else {
      let replay = await replayFrom(lastEventId, channel)
      if (replay?.gap && hub.recentAfter(lastEventId, channel).found) {
        // The last event the client saw is so recent that the relay may not have committed it as
        // published yet: ask again once that commit has surely landed.
        await new Promise((resolve) => setTimeout(resolve, RECOMMIT_WAIT_MS))
        replay = await replayFrom(lastEventId, channel)
      }
      if (!current(conn, sub)) return
      if (replay && !replay.gap && replay.events.length <= limits.maxReplay) {
        // Received here but not yet visible to the replay query (see hub.recentAfter): those are
        // later than everything the query saw.
        const after = replay.events.at(-1)?.position
        const recent = hub.recentAfter(lastEventId, channel).events.filter((e) => after === undefined || e.position > after)
        complete = hub.release(sub, [...replay.events, ...recent])
      } else {
        hub.send(conn, { type: 'gap', channel, lastEventId })
        complete = hub.release(sub)
      }
    }
    if (!complete) hub.send(conn, { type: 'gap', channel, lastEventId: sub.lastSentId ?? lastEventId ?? '' })
  }

  /** reauthorize checks a live subscription again (membership removed, resource deleted, periodic). */
  async function reauthorize (sub: Sub): Promise<void> {
    const { conn } = sub
    if (!current(conn, sub) || !sub.live) return
    hub.suspend(sub)
    const refusal = await check(conn.actor, sub.channel)
    if (!current(conn, sub)) return
    if (refusal && refusal.code !== 'CHANNEL_UNAVAILABLE') {
      hub.unsubscribe(conn, sub.channel)
      hub.send(conn, { type: 'unsubscribed', channel: sub.channel, reason: refusal.message })
      return
    }
    if (!hub.release(sub)) hub.send(conn, { type: 'gap', channel: sub.channel, lastEventId: sub.lastSentId ?? '' })
  }

  async function reauthenticate (conn: Conn, request: FastifyRequest, message: { token: string } | { ticket: string }): Promise<void> {
    let actor: Actor | undefined
    let expiresAt: number | null = null
    if ('ticket' in message) {
      const spent = await tickets.consume(message.ticket)
      actor = spent && await actorOfSession(app, spent.userId, spent.sessionId)
      expiresAt = Date.now() + ttlMs
    } else {
      // The bearer scheme itself checks the token, through a view of the upgrade request carrying it.
      const view = Object.create(request) as FastifyRequest
      view.headers = { ...request.headers, authorization: `Bearer ${message.token}`, 'x-api-key': undefined }
      actor = await app.auth.check(view, 'authenticated').then(() => view.actor ?? undefined, () => undefined)
      expiresAt = tokenExpiry(message.token)
    }
    if (conn.closed) return
    if (!actor || actor.kind !== 'user' || conn.actor.kind !== 'user' || actor.userId !== conn.actor.userId) {
      hub.send(conn, { type: 'error', code: 'AUTH_INVALID', message: 'The credentials are invalid or expired, or belong to someone else' })
      return
    }
    conn.actor = actor
    setExpiry(conn, expiresAt)
    hub.send(conn, { type: 'authenticated', expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() })
  }

  /** overRate counts a message; past the limit it is refused, past twice the limit the socket is closed. */
  function overRate (conn: Conn): boolean {
    const now = Date.now()
    const rate = conn.rate
    if (now - rate.windowStart >= 1000) Object.assign(rate, { windowStart: now, count: 0, warned: false })
    rate.count++
    if (rate.count <= limits.maxMessagesPerSecond) return false
    if (rate.count > 2 * limits.maxMessagesPerSecond) {
      hub.drop(conn, closeCodes.policy, 'message rate exceeded')
    } else if (!rate.warned) {
      rate.warned = true
      hub.send(conn, { type: 'error', code: 'RATE_LIMITED', message: `at most ${limits.maxMessagesPerSecond} messages per second; messages over it are ignored` })
    }
    return true
  }

  function handle (conn: Conn, request: FastifyRequest, message: ClientMessage): Promise<void> | undefined {
    switch (message.type) {
      case 'subscribe': return subscribe(conn, message.channel, message.lastEventId)
      case 'unsubscribe':
        hub.unsubscribe(conn, message.channel)
        if (message.channel.length <= limits.maxChannelLength) hub.send(conn, { type: 'unsubscribed', channel: message.channel })
        return
      case 'ping':
        hub.send(conn, { type: 'pong' })
        return
      case 'auth': return reauthenticate(conn, request, message)
    }
  }

  return {
    reauthorize,

    /** open runs a socket the handshake admitted; `request` is the upgrade's view (see upgradeView). */
    open (socket: WebSocket, request: FastifyRequest, shake: Handshake): void {
      // Two handshakes of one user may both pass the cap check before either socket opens.
      if (hub.count(shake.principal) >= limits.maxSocketsPerPrincipal) {
        socket.close(closeCodes.policy, 'too many realtime connections')
        return
      }
      const conn = hub.add(socket, shake.actor, shake.principal, shake.keyPrefix)
      setExpiry(conn, shake.expiresAt)
      socket.on('pong', () => { conn.alive = true })
      // `ws` answers ping frames itself; they count towards the message rate all the same.
      socket.on('ping', () => { overRate(conn) })
      socket.on('close', () => { hub.remove(conn) })
      socket.on('message', (data: RawData, isBinary: boolean) => {
        if (conn.closed || overRate(conn)) return
        if (isBinary) {
          hub.drop(conn, closeCodes.unsupported, 'binary frames are not accepted; send JSON text')
          return
        }
        const parsed = parseClientMessage(data.toString())
        if ('invalid' in parsed) {
          hub.send(conn, { type: 'error', code: 'BAD_MESSAGE', message: parsed.invalid })
          return
        }
        handle(conn, request, parsed)?.catch((err: unknown) => {
          app.log.error({ err }, 'realtime: message handling failed')
        })
      })
      hub.send(conn, {
        type: 'ready',
        expiresAt: shake.expiresAt === null ? null : new Date(shake.expiresAt).toISOString(),
        limits: { maxMessageBytes: limits.maxMessageBytes, maxSubscriptions: limits.maxSubscriptions, maxMessagesPerSecond: limits.maxMessagesPerSecond }
      })
    }
  }
}

/** Connections is the per-socket runner. */
export type Connections = ReturnType<typeof createConnections>
