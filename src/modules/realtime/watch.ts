import type { FastifyInstance } from 'fastify'
import type { PublishedEvent } from '../../platform/events.ts'
import type { Connections } from './connection.ts'
import type { Conn, Hub, Sub } from './hub.ts'
import { closeCodes, isUuid, limits } from './protocol.ts'
import { actorOfSession } from './tickets.ts'

// A removal or deletion can end someone's right to a channel: its subscribers are checked again
// before they get the next event on it.
const REAUTHORIZE = /\.(deleted|disabled|member_removed|member_role_changed|member_updated|moved|transferred)$/
// A membership change moves one user's rights on the project and on every agent of it.
const MEMBERSHIP = /^project\.member_(removed|role_changed)$/
// Subscriptions are checked again every this many session re-checks (membership may change without an event).
const REAUTHORIZE_EVERY = 5

function userOf (event: PublishedEvent): string | undefined {
  const fromData = event.data.userId
  if (isUuid(fromData)) return fromData
  const channel = event.channels.find((c) => c.startsWith('user:'))
  const id = channel?.slice('user:'.length)
  return isUuid(id) ? id : undefined
}

function reasonOf (event: PublishedEvent, fallback: string): string {
  const reason = event.data.reason
  // A close reason is at most 123 bytes.
  return typeof reason === 'string' && reason.length > 0 ? `${fallback}: ${reason}`.slice(0, 100) : fallback
}

/**
 * watchSockets keeps open sockets honest: it closes them when their session, user or key ends
 * (revocation events, on every node at once), re-checks every socket's credentials each minute,
 * re-authorises subscriptions, and pings every 30 s, cutting sockets that missed a pong.
 */
export function watchSockets ({ app, hub, connections }: { app: FastifyInstance, hub: Hub, connections: Connections }) {
  const logFailure = (err: unknown) => { app.log.error({ err }, 'realtime: re-check failed') }

  function closeFor (event: PublishedEvent): void {
    const data = event.data
    switch (event.type) {
      case 'session.revoked': {
        const sid = data.sessionId
        if (typeof sid === 'string') hub.closeWhere((c) => c.actor.sessionId === sid, closeCodes.revoked, reasonOf(event, 'session ended'))
        return
      }
      case 'user.disabled':
      case 'user.deleted': {
        const uid = userOf(event)
        if (uid) hub.closeWhere((c) => c.actor.userId === uid, closeCodes.revoked, event.type === 'user.disabled' ? 'account disabled' : 'account deleted')
        return
      }
      case 'user.roles_changed': {
        const uid = userOf(event)
        // An agent's key keeps the agent role whatever its owner's roles.
        if (uid) hub.closeWhere((c) => c.actor.userId === uid && c.actor.agentId === undefined, closeCodes.reauthenticate, 'roles changed: reconnect')
        return
      }
      case 'api_key.revoked': {
        const keyId = data.apiKeyId ?? data.id
        if (typeof keyId === 'string') hub.closeWhere((c) => c.actor.apiKeyId === keyId, closeCodes.revoked, 'API key revoked')
        return
      }
      case 'agent.disabled':
      case 'agent.deleted': {
        const agentId = data.id
        if (typeof agentId === 'string') hub.closeWhere((c) => c.actor.agentId === agentId, closeCodes.revoked, event.type === 'agent.disabled' ? 'agent disabled' : 'agent deleted')
      }
    }
  }

  function onEvent (event: PublishedEvent): void {
    // Delivered first: the session's own sockets learn why they are about to close.
    hub.dispatch(event)
    closeFor(event)
    if (REAUTHORIZE.test(event.type)) {
      const again = new Set<Sub>()
      for (const channel of event.channels) {
        if (channel === 'admin' || channel.startsWith('user:')) continue
        for (const sub of hub.subscribersOf(channel)) again.add(sub)
      }
      // A member's access to the project's agents ends with the membership, yet agent events are
      // not shown on the membership's channels: check that member's other subscriptions too.
      const member = MEMBERSHIP.test(event.type) ? userOf(event) : undefined
      if (member) {
        for (const conn of hub.conns) {
          if (conn.actor.userId !== member) continue
          for (const sub of conn.subs.values()) if (sub.channel.startsWith('agent:') || sub.channel.startsWith('project:')) again.add(sub)
        }
      }
      for (const sub of again) connections.reauthorize(sub).catch(logFailure)
    }
  }

  /** recheck asks again whether a socket's credential is still good (through the cache: cheap). */
  async function recheck (conn: Conn, subscriptionsToo: boolean): Promise<void> {
    const { actor } = conn
    try {
      if (actor.kind === 'user') {
        const fresh = await actorOfSession(app, actor.userId, actor.sessionId ?? '')
        if (!fresh) return hub.drop(conn, closeCodes.revoked, 'session ended')
        if ([...fresh.roles].sort().join() !== [...actor.roles].sort().join()) return hub.drop(conn, closeCodes.reauthenticate, 'roles changed: reconnect')
      } else {
        const key = conn.keyPrefix === undefined ? undefined : await app.apiKeys.lookup(conn.keyPrefix)
        const owner = await app.users.principal(actor.userId)
        if (!key || key.id !== actor.apiKeyId || owner?.status !== 'active') return hub.drop(conn, closeCodes.revoked, 'API key revoked')
        if (key.expiresAt !== null && key.expiresAt <= Date.now()) return hub.drop(conn, closeCodes.revoked, 'API key expired')
      }
    } catch (err) {
      // A dependency outage is not a revocation: the next round checks again.
      app.log.warn({ err: { message: (err as Error).message } }, 'realtime: could not re-check a socket')
      return
    }
    if (subscriptionsToo) for (const sub of [...conn.subs.values()]) await connections.reauthorize(sub)
  }

  let rounds = 0
  let checking = false
  async function recheckAll (): Promise<void> {
    if (checking) return
    checking = true
    const subscriptionsToo = ++rounds % REAUTHORIZE_EVERY === 0
    try {
      const all = [...hub.conns]
      for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((c) => recheck(c, subscriptionsToo)))
    } finally {
      checking = false
    }
  }

  function pingAll (): void {
    for (const conn of [...hub.conns]) {
      if (!conn.alive) {
        // No pong since the last ping: the peer is gone (or its network is); cut the socket.
        hub.remove(conn)
        conn.socket.terminate()
        continue
      }
      conn.alive = false
      conn.socket.ping()
    }
  }

  const unsubscribe = app.events.subscribe(onEvent)
  const pinger = setInterval(pingAll, limits.pingIntervalMs).unref()
  const checker = setInterval(() => { recheckAll().catch(logFailure) }, limits.recheckIntervalMs).unref()

  return {
    /** recheckAll runs one credential re-check round now (tests, and after a cache outage). */
    recheckAll,
    pingAll,
    /** stop ends the timers and the event subscription. */
    stop (): void {
      unsubscribe()
      clearInterval(pinger)
      clearInterval(checker)
    }
  }
}
