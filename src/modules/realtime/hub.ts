import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import type { Actor } from '../../platform/auth.ts'
import type { PublishedEvent } from '../../platform/events.ts'
import { limits, type ServerMessage } from './protocol.ts'

/** Sub is one channel subscription of one socket. */
export interface Sub {
  conn: Conn
  channel: string
  /**
   * live is false while the subscription is being authorised or replayed: events for it are held
   * in `held` meanwhile (never sent before the check passes), then sent in order without duplicates.
   */
  live: boolean
  held: PublishedEvent[]
  /** overflowed is set when more events arrived while held than may wait; the client gets a gap. */
  overflowed: boolean
  /** seen holds the ids sent on this subscription recently, so an event is never sent twice on it. */
  seen: Set<string>
  lastSentId?: string
}

/** Conn is one open socket and who it acts for. */
export interface Conn {
  id: number
  socket: WebSocket
  actor: Actor
  /** principal is what the socket cap counts: the user (with their API keys), or the agent. */
  principal: string
  /** keyPrefix is the API key's public prefix, to re-check the key (never the key itself). */
  keyPrefix?: string
  subs: Map<string, Sub>
  alive: boolean
  closed: boolean
  expiresAt: number | null
  expiry?: NodeJS.Timeout
  rate: { windowStart: number, count: number, warned: boolean }
}

const HELD_MAX = 1000
const SEEN_MAX = 128
// The relay hands events to pubsub just before it commits them as published: for those few
// milliseconds a replay query cannot see an event this node already received. The last events
// received are kept briefly so that a resuming subscription gets those too.
const RECENT_MAX = 256
const RECENT_MS = 5000

/** HubCounters receive each outgoing message's fate (for /metrics): sent, or dropped with why. */
export interface HubCounters { sent: () => void, dropped: (reason: 'slow_consumer' | 'closed') => void }

const uncounted: HubCounters = { sent: () => {}, dropped: () => {} }

/** createHub keeps the open sockets of this node and fans published events out to their subscriptions. */
export function createHub (log: FastifyBaseLogger, counters: HubCounters = uncounted) {
  const conns = new Set<Conn>()
  const perPrincipal = new Map<string, number>()
  const byChannel = new Map<string, Set<Sub>>()
  const recent: Array<{ event: PublishedEvent, at: number }> = []
  let nextId = 1

  /** drop closes a socket with a code and a reason, and cuts it off if the close handshake cannot finish. */
  function drop (conn: Conn, code: number, reason: string): void {
    if (conn.closed) return
    detach(conn)
    try {
      conn.socket.close(code, reason)
    } catch {
      conn.socket.terminate()
      return
    }
    // A client that stopped reading never answers the close frame: do not wait 30 s for it.
    setTimeout(() => { conn.socket.terminate() }, 2000).unref()
  }

  function sendText (conn: Conn, text: string): void {
    if (conn.closed) {
      counters.dropped('closed')
      return
    }
    conn.socket.send(text)
    counters.sent()
    if (conn.socket.bufferedAmount > limits.maxBufferedBytes) {
      counters.dropped('slow_consumer')
      log.warn({ connection: conn.id, buffered: conn.socket.bufferedAmount }, 'realtime: slow consumer dropped')
      // A close frame would wait behind the megabyte the client is not reading: cut the socket now.
      detach(conn)
      conn.socket.terminate()
    }
  }

  function remember (sub: Sub, id: string): void {
    sub.seen.add(id)
    sub.lastSentId = id
    if (sub.seen.size > SEEN_MAX) sub.seen.delete(sub.seen.values().next().value!)
  }

  function eventText (channel: string, event: PublishedEvent): string {
    const message: ServerMessage = { type: 'event', channel, id: event.id, event: event.type, data: event.data, at: event.at }
    return JSON.stringify(message)
  }

  /** deliver sends an event on one subscription once; while the subscription is not live it is held. */
  function deliver (sub: Sub, event: PublishedEvent, text?: string): void {
    if (sub.seen.has(event.id)) return
    if (!sub.live) {
      if (sub.held.length < HELD_MAX) sub.held.push(event)
      else sub.overflowed = true
      return
    }
    remember(sub, event.id)
    sendText(sub.conn, text ?? eventText(sub.channel, event))
  }

  function detach (conn: Conn): void {
    if (conn.closed) return
    conn.closed = true
    conns.delete(conn)
    clearTimeout(conn.expiry)
    const left = (perPrincipal.get(conn.principal) ?? 1) - 1
    if (left <= 0) perPrincipal.delete(conn.principal)
    else perPrincipal.set(conn.principal, left)
    for (const sub of conn.subs.values()) unindex(sub)
    conn.subs.clear()
  }

  function unindex (sub: Sub): void {
    const set = byChannel.get(sub.channel)
    set?.delete(sub)
    if (set?.size === 0) byChannel.delete(sub.channel)
  }

  return {
    conns: conns as ReadonlySet<Conn>,

    /** count tells how many sockets a principal holds on this node. */
    count: (principal: string): number => perPrincipal.get(principal) ?? 0,

    /** add registers an open socket. */
    add (socket: WebSocket, actor: Actor, principal: string, keyPrefix?: string): Conn {
      const conn: Conn = { id: nextId++, socket, actor, principal, keyPrefix, subs: new Map(), alive: true, closed: false, expiresAt: null, rate: { windowStart: 0, count: 0, warned: false } }
      conns.add(conn)
      perPrincipal.set(principal, (perPrincipal.get(principal) ?? 0) + 1)
      return conn
    },

    /** remove forgets a socket that closed. */
    remove: detach,

    drop,

    /** send writes one message, dropping the socket if it cannot keep up. */
    send: (conn: Conn, message: ServerMessage): void => { sendText(conn, JSON.stringify(message)) },

    /** hold starts a subscription that holds its events until `release`. */
    hold (conn: Conn, channel: string): Sub {
      const sub: Sub = { conn, channel, live: false, held: [], overflowed: false, seen: new Set() }
      conn.subs.set(channel, sub)
      let set = byChannel.get(channel)
      if (!set) byChannel.set(channel, (set = new Set()))
      set.add(sub)
      return sub
    },

    /**
     * release makes a held subscription live: the replayed events first, then the held ones,
     * each once. It returns false when the held events overflowed (the caller sends a gap).
     */
    release (sub: Sub, replayed: readonly PublishedEvent[] = []): boolean {
      sub.live = true
      const held = sub.held
      sub.held = []
      // A replay can be longer than `seen` remembers: deduplicate this batch on its own.
      const sent = new Set<string>()
      for (const event of [...replayed, ...held]) {
        if (sent.has(event.id)) continue
        sent.add(event.id)
        deliver(sub, event)
      }
      const complete = !sub.overflowed
      sub.overflowed = false
      return complete
    },

    /** suspend holds a live subscription's events again (while it is re-authorised). */
    suspend (sub: Sub): void { sub.live = false },

    /** unsubscribe ends one subscription. */
    unsubscribe (conn: Conn, channel: string): void {
      const sub = conn.subs.get(channel)
      if (!sub) return
      conn.subs.delete(channel)
      unindex(sub)
    },

    /** subscribersOf lists the subscriptions of a channel on this node. */
    subscribersOf: (channel: string): Sub[] => [...(byChannel.get(channel) ?? [])],

    /**
     * dispatch fans an event out: one `event` message per subscribed channel the event is shown
     * on (so a socket on both `project:P` and `user:U` gets it once on each), serialised once per channel.
     */
    dispatch (event: PublishedEvent): void {
      const now = Date.now()
      recent.push({ event, at: now })
      while (recent.length > RECENT_MAX || (recent.length > 0 && now - recent[0]!.at > RECENT_MS)) recent.shift()
      for (const channel of new Set(event.channels)) {
        const subs = byChannel.get(channel)
        if (!subs) continue
        const text = eventText(channel, event)
        for (const sub of [...subs]) deliver(sub, event, text)
      }
    },

    /**
     * recentAfter returns the events of a channel this node received in the last seconds after
     * `lastEventId` (`found` tells whether that event itself is among them; if not, all of them).
     */
    recentAfter (lastEventId: string, channel: string): { found: boolean, events: PublishedEvent[] } {
      const at = recent.findIndex((r) => r.event.id === lastEventId)
      const events = recent.slice(at + 1).map((r) => r.event).filter((e) => e.channels.includes(channel))
      return { found: at !== -1, events }
    },

    /** closeWhere drops every socket matching the predicate, with one code and reason. */
    closeWhere (match: (conn: Conn) => boolean, code: number, reason: string): number {
      let n = 0
      for (const conn of [...conns]) {
        if (match(conn)) { drop(conn, code, reason); n++ }
      }
      return n
    }
  }
}

/** Hub is the socket registry and fan-out. */
export type Hub = ReturnType<typeof createHub>
