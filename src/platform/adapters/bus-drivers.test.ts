import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { describe, expect, it } from 'vitest'
import type { Siblings } from '../siblings.ts'
import { siblingBus } from './bus-drivers.ts'

/**
 * Worker processes of `backplane start --workers N` without Redis: each has its own memory cache,
 * joined by siblingBus through the primary. Here the primary's relay is a plain function (the
 * real one, src/cluster/primary.ts, hands a broadcast to every other worker), and every relayed
 * message is counted: the IPC volume a cache read causes.
 */
function machine (count: number) {
  const listeners = new Map<number, Map<string, Set<(message: unknown) => void>>>()
  const relayed: Array<{ topic: string, message: unknown }> = []
  const siblingsOf = (me: number): Siblings => ({
    broadcast (topic, message) {
      relayed.push({ topic, message })
      // Asynchronous like IPC: the message arrives after the sender's call.
      setImmediate(() => {
        for (const [worker, topics] of listeners) if (worker !== me) for (const h of topics.get(topic) ?? []) h(structuredClone(message))
      })
    },
    listen (topic, handler) {
      const topics = listeners.get(me) ?? new Map<string, Set<(message: unknown) => void>>()
      listeners.set(me, topics)
      const set = topics.get(topic) ?? new Set()
      topics.set(topic, set)
      set.add(handler)
      return () => { set.delete(handler) }
    },
    ask: async () => { throw new Error('not used') }
  })
  const caches = Array.from({ length: count }, (_, i) => new BentoCache({
    default: 'main',
    stores: { main: bentostore().useL1Layer(memoryDriver({ maxItems: 1000 })).useBus(siblingBus(siblingsOf(i))) },
    ttl: '30s'
  }))
  return { caches, relayed, close: async () => { await Promise.all(caches.map(async (c) => { await c.disconnect() })) } }
}

const settle = () => new Promise<void>((resolve) => { setTimeout(resolve, 50) })

describe('siblingBus (the cache bus between workers without Redis)', () => {
  it('issue #11: a fill on one worker does not expire the other workers\' entries (no read-through ping-pong, no IPC per read)', async () => {
    const { caches: [a, b], relayed, close } = machine(2)
    try {
      let reads = 0
      const factory = async () => { reads++; return { status: 'active' } }
      // One user's handshakes landing on alternate workers, as node:cluster's round robin deals them.
      for (let i = 0; i < 10; i++) {
        await (i % 2 === 0 ? a! : b!).getOrSet({ key: 'principal:u1', factory })
        await settle()
      }
      // Old code: every fill announced a `set`, the other worker expired its copy and read the
      // database again: 10 reads and 10 relayed messages. Now: one read per worker, nothing relayed.
      expect(reads).toBe(2)
      expect(relayed).toEqual([])
    } finally {
      await close()
    }
  })

  it('a delete on one worker still drops the entry from every other worker (revocation, cache invalidation)', async () => {
    const { caches: [a, b, c], relayed, close } = machine(3)
    try {
      let version = 1
      const factory = async () => ({ version })
      for (const cache of [a!, b!, c!]) expect(await cache.getOrSet({ key: 'session:s1', factory })).toEqual({ version: 1 })
      version = 2
      await a!.delete({ key: 'session:s1' })
      await settle()
      for (const cache of [a!, b!, c!]) expect(await cache.getOrSet({ key: 'session:s1', factory })).toEqual({ version: 2 })
      expect(relayed.map((r) => (r.message as { type: string }).type)).toEqual(['delete'])
      // clear and expire are invalidations too.
      version = 3
      await b!.expire({ key: 'session:s1' })
      await settle()
      expect(await a!.getOrSet({ key: 'session:s1', factory })).toEqual({ version: 3 })
      version = 4
      await c!.clear()
      await settle()
      expect(await a!.getOrSet({ key: 'session:s1', factory })).toEqual({ version: 4 })
      expect(relayed.map((r) => (r.message as { type: string }).type)).toEqual(['delete', 'expire', 'clear'])
    } finally {
      await close()
    }
  })
})
