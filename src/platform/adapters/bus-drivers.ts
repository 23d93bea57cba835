import type { BusDriver, CreateBusDriverResult } from 'bentocache/types'
import type { BrokerNames } from '../namespace.ts'
import type { Siblings } from '../siblings.ts'

const RESUBSCRIBE_MS = 1000

/** isFill tells a cache-bus `set` (an entry filled on one worker), which siblingBus keeps to its worker. */
function isFill (message: unknown): boolean {
  return typeof message === 'object' && message !== null && 'type' in message && message.type === 'set'
}

/**
 * namespacedBus puts the cache bus's channel (`bentocache.notifications:<store>`) under
 * BACKPLANE_NAMESPACE: deployments sharing Redis then never drop each other's cached entries.
 * It also keeps the subscription alive: bentocache subscribes without awaiting, so a SUBSCRIBE
 * that timed out (Redis slow while the node starts) used to reject unhandled and stop the node;
 * here it is reported and tried again every second until it succeeds or the bus disconnects.
 */
export function namespacedBus (inner: CreateBusDriverResult, names: BrokerNames, onError: (err: Error) => void = () => {}): CreateBusDriverResult {
  return {
    options: inner.options,
    factory: (config: unknown) => {
      const driver: BusDriver = inner.factory(config)
      // An object, not a local: the retry loop reads it after awaits and disconnect() changes it.
      const state = { disconnected: false }
      const subscribe = async (channel: string, handler: Parameters<BusDriver['subscribe']>[1]): Promise<void> => {
        while (!state.disconnected) {
          try {
            await driver.subscribe(channel, handler)
            return
          } catch (err) {
            onError(err as Error)
            await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_MS).unref())
          }
        }
      }
      const wrapped: BusDriver = {
        setId: (id) => { driver.setId(id); return wrapped },
        onReconnect: (callback) => { driver.onReconnect(callback) },
        publish: (channel, message) => driver.publish(names.redis(channel), message),
        subscribe: (channel, handler) => subscribe(names.redis(channel), handler as Parameters<BusDriver['subscribe']>[1]),
        unsubscribe: (channel) => driver.unsubscribe(names.redis(channel)),
        disconnect: () => { state.disconnected = true; return driver.disconnect() }
      }
      return wrapped
    }
  }
}

/**
 * siblingBus carries the cache bus between the worker processes of one machine through their
 * primary (no Redis): a delete on one worker drops the entry from every other worker's memory.
 *
 * Only invalidations travel (delete, expire, clear); a `set` stays on its worker. With no shared
 * L2 a `set` is a `getOrSet` filling its own memory from the database, and bentocache announces
 * each one so that the others expire their copy: the workers then expired each other's entries
 * in turn, so every WebSocket handshake of a user read its session and principal from the
 * database again, one at a time behind bentocache's per-key lock, and 12,000 handshakes through
 * four workers crawled at ~14 a second (issue #11). Backplane changes a cached value by deleting
 * it (the next read fills it), never by `set`, so dropping fills loses no invalidation.
 */
export function siblingBus (siblings: Siblings): CreateBusDriverResult {
  return {
    options: {},
    factory: () => {
      const stops = new Map<string, () => void>()
      const driver: BusDriver = {
        setId: () => driver,
        onReconnect: () => {},
        publish: async (channel, message) => {
          if (isFill(message)) return
          siblings.broadcast(`cache-bus:${channel}`, message)
        },
        subscribe: async (channel, handler) => {
          stops.get(channel)?.()
          stops.set(channel, siblings.listen(`cache-bus:${channel}`, (message) => { Promise.resolve(handler(message as never)).catch(() => {}) }))
        },
        unsubscribe: async (channel) => { stops.get(channel)?.(); stops.delete(channel) },
        disconnect: async () => { for (const stop of stops.values()) stop(); stops.clear() }
      }
      return driver
    }
  }
}
