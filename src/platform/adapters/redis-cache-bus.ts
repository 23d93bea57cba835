import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'

/** BusTracker knows whether this node currently receives the other nodes' cache invalidations. */
export interface BusTracker {
  /** proven is true once every bus connection is up, subscribed, and the cache was cleared of what may have been missed. */
  proven: () => boolean
  /** watch follows one bus connection (the publisher or the subscriber the bus library made). */
  watch: (connection: Redis) => void
  /** onRejoin runs before the bus counts as proven again (the cache clears what it may have missed). */
  onRejoin: (fn: () => Promise<void>) => void
  close: () => void
}

/**
 * createBusTracker tracks the Redis invalidation bus. Any bus connection closing makes the bus
 * unproven at once (invalidations published meanwhile are lost); when all are ready again the
 * subscriptions are renewed, `onRejoin` runs, and only then is the bus proven. The library's own
 * subscribe gives up (and forgets its handler) when Redis is down at that moment: here a failed
 * subscribe is swallowed and retried on every reconnect, so a node started without Redis joins
 * the bus when Redis comes.
 */
export function createBusTracker (log: FastifyBaseLogger): BusTracker {
  const connections: Redis[] = []
  const channels = new Map<Redis, Set<string>>()
  const rejoin: Array<() => Promise<void>> = []
  let proven = false
  let generation = 0
  let closed = false
  // Silent until the bus was joined once: start-up without Redis is reported by the cache plugin.
  let announcedLoss = true

  function lose (): void {
    generation++
    if (proven && !announcedLoss) {
      log.warn({ bus: 'lost' }, 'cache invalidation bus unavailable: sessions, users and keys are checked against PostgreSQL (at most 0.5 s stale) until it returns')
      announcedLoss = true
    }
    proven = false
  }

  async function tryJoin (): Promise<void> {
    if (closed || connections.length === 0 || connections.some((c) => c.status !== 'ready')) return
    const mine = generation
    try {
      for (const [connection, names] of channels) {
        for (const name of names) await subscribeOriginal.get(connection)?.(name)
      }
      for (const fn of rejoin) await fn()
    } catch (err) {
      // The cache's own Redis connection may not be up yet (clearing fails): try again shortly.
      log.debug({ bus: 'joining', err: { message: (err as Error).message } }, 'cache invalidation bus could not be joined yet')
      if (mine === generation && !closed) setTimeout(() => { tryJoin().catch(() => {}) }, 250).unref()
      return
    }
    if (mine !== generation || closed || connections.some((c) => c.status !== 'ready')) return
    proven = true
    announcedLoss = false
    log.info({ bus: 'joined' }, 'cache invalidation bus joined: revocations from other nodes arrive at once')
  }

  const subscribeOriginal = new Map<Redis, (name: string) => Promise<unknown>>()

  return {
    proven: () => proven,
    watch (connection) {
      connections.push(connection)
      const names = new Set<string>()
      channels.set(connection, names)
      const original = connection.subscribe.bind(connection) as (name: string) => Promise<unknown>
      subscribeOriginal.set(connection, original)
      // Never rejects (the caller would drop its handler); the channel is renewed on each reconnect.
      const patched = async (...args: unknown[]) => {
        for (const a of args) if (typeof a === 'string') names.add(a)
        await Promise.all([...names].map((n) => original(n))).catch(() => {})
        return names.size
      }
      ;(connection as unknown as { subscribe: typeof patched }).subscribe = patched
      for (const event of ['close', 'reconnecting', 'end']) connection.on(event, lose)
      connection.on('ready', () => { tryJoin().catch(() => {}) })
      if (connection.status !== 'ready') lose()
    },
    onRejoin (fn) { rejoin.push(fn) },
    close () { closed = true; proven = false }
  }
}
