import type { BusDriver, CreateBusDriverResult } from 'bentocache/types'
import type { BrokerNames } from '../namespace.ts'
import type { Siblings } from '../siblings.ts'

/**
 * namespacedBus puts the cache bus's channel (`bentocache.notifications:<store>`) under
 * BACKPLANE_NAMESPACE: deployments sharing Redis then never drop each other's cached entries.
 */
export function namespacedBus (inner: CreateBusDriverResult, names: BrokerNames): CreateBusDriverResult {
  return {
    options: inner.options,
    factory: (config: unknown) => {
      const driver: BusDriver = inner.factory(config)
      const wrapped: BusDriver = {
        setId: (id) => { driver.setId(id); return wrapped },
        onReconnect: (callback) => { driver.onReconnect(callback) },
        publish: (channel, message) => driver.publish(names.redis(channel), message),
        subscribe: (channel, handler) => driver.subscribe(names.redis(channel), handler),
        unsubscribe: (channel) => driver.unsubscribe(names.redis(channel)),
        disconnect: () => driver.disconnect()
      }
      return wrapped
    }
  }
}

/**
 * siblingBus carries the cache bus between the worker processes of one machine through their
 * primary (no Redis): a delete on one worker drops the entry from every other worker's memory.
 */
export function siblingBus (siblings: Siblings): CreateBusDriverResult {
  return {
    options: {},
    factory: () => {
      const stops = new Map<string, () => void>()
      const driver: BusDriver = {
        setId: () => driver,
        onReconnect: () => {},
        publish: async (channel, message) => { siblings.broadcast(`cache-bus:${channel}`, message) },
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
