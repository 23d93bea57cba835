import fp from 'fastify-plugin'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import type { Redis } from 'ioredis'
import { createBusTracker, type BusTracker } from './adapters/redis-cache-bus.ts'
import { readThroughWhileUnproven } from './cache-fallback.ts'
import { brokerNames } from './namespace.ts'
import { namespacedBus, siblingBus } from './adapters/bus-drivers.ts'
import type { Breaker } from './breakers.ts'

/** Cache is the cache port: memory on one node, memory + Redis with bus invalidation across nodes. */
export type Cache = BentoCache<{ main: ReturnType<typeof bentostore> }>

declare module 'fastify' {
  interface FastifyInstance {
    /** cache holds hot, small, re-derivable data (session liveness, principals, keys). */
    cache: Cache
  }
}

function redisOptions (url: string) {
  // Bounded waits: a frozen Redis must slow requests by at most ~1 s, never hang them (decision 6).
  return { lazyConnect: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 1000, enableOfflineQueue: false }
}

// The L2 driver's calls that reach Redis; `namespace` hands out a driver that needs the same guard.
const L2_CALLS = new Set(['get', 'getMany', 'set', 'setMany', 'has', 'delete', 'deleteMany', 'clear'])

/**
 * guardedL2 runs every call of a bentocache L2 driver through the `redis-cache` breaker: while
 * Redis fails, the calls fail at once instead of each waiting out its command timeout, and
 * bentocache (suppressL2Errors) serves from memory or the factory meanwhile.
 */
function guardedL2<D extends { factory: (config: never) => object }> (driver: D, breaker: Breaker, connected: () => boolean): D {
  // Some calls answer without asking Redis (an empty key list): while the connection is down they
  // count as failures too, or they would close the breaker in the middle of an outage.
  const call = (fn: () => unknown) => breaker.execute(async () => {
    if (!connected()) throw new Error('Redis is not connected')
    return fn()
  })
  const guard = <T extends object>(target: T): T => new Proxy(target, {
    get (obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown
      if (typeof value !== 'function') return value
      if (prop === 'namespace') return (...args: unknown[]) => guard(value.apply(obj, args) as object)
      if (typeof prop === 'string' && L2_CALLS.has(prop)) return (...args: unknown[]) => call(() => value.apply(obj, args) as unknown)
      return value.bind(obj) as unknown
    }
  })
  return { ...driver, factory: (config: never) => guard(driver.factory(config)) }
}

/**
 * cache builds the cache port. With REDIS_URL, deletes reach every node through the Redis bus
 * (so a revoked session is refused everywhere at once). While that bus is down or not yet joined
 * (a node started without Redis), `getOrSet` reads through to the database with at most 0.5 s of
 * memo, so revocations stay (nearly) immediate; when the bus returns the cache is cleared and used again.
 */
export default fp(async function cache (app) {
  const url = app.config.redis.url
  const names = brokerNames(app.config.namespace)
  const store = bentostore().useL1Layer(memoryDriver({ maxSize: '64mb', maxItems: 100_000 }))
  const connections: Redis[] = []
  let tracker: BusTracker | undefined
  if (url) {
    // Loaded only when configured: a single node without Redis never pays for the drivers.
    const [{ Redis: RedisClient }, { redisBusDriver, redisDriver }] = await Promise.all([import('ioredis'), import('bentocache/drivers/redis')])
    const warn = (err: Error) => { app.log.warn({ err: { message: err.message } }, 'redis connection problem (cache)') }
    const l2 = new RedisClient(url, redisOptions(url))
    l2.on('error', warn)
    connections.push(l2)
    tracker = createBusTracker(app.log.child({ module: 'cache' }))
    const bus = new RedisClient(url, { ...redisOptions(url), enableOfflineQueue: true })
    // The bus duplicates this client for its publisher and subscriber: give those error listeners
    // too, and let the tracker follow them (and keep the subscription alive across outages).
    const duplicate = bus.duplicate.bind(bus)
    bus.duplicate = (...args: Parameters<typeof bus.duplicate>) => {
      const copy = duplicate(...args)
      copy.on('error', warn)
      tracker?.watch(copy)
      connections.push(copy)
      return copy
    }
    bus.on('error', warn)
    connections.push(bus)
    const breaker = app.breakers.create('redis-cache', { counts: () => true, threshold: 3, halfOpenAfterMs: 1000 })
    store.useL2Layer(guardedL2(redisDriver({ connection: l2 }), breaker, () => l2.status === 'ready')).useBus(namespacedBus(redisBusDriver({ connection: bus }), names, warn))
    // Redis is not required to serve (decision 6): its failure degrades readiness, never fails it.
    const joined = tracker
    app.addReadinessCheck('redis', async () => {
      await l2.ping()
      if (!joined.proven()) throw new Error('the invalidation bus has not joined yet')
    }, { critical: false })
  } else if (app.siblings) {
    // Worker processes of one machine without Redis: deletes reach the other workers through the primary.
    store.useBus(siblingBus(app.siblings))
  }
  const bento: Cache = new BentoCache({
    // Keys in the shared Redis are under BACKPLANE_NAMESPACE (bentocache's own default prefix is 'bentocache').
    prefix: names.redis('bentocache'),
    default: 'main',
    stores: { main: store },
    ttl: '30s',
    timeout: '1s',
    suppressL2Errors: true
  })
  if (tracker) {
    const bus = tracker
    // Invalidations published while this node was off the bus are lost: what it (and Redis) hold
    // may be stale, so the cache starts empty when the bus returns.
    bus.onRejoin(async () => { await bento.clear() })
    // BentoCache builds a store (and its bus connections) on first use; while the bus is unproven
    // nothing uses it, so it would never be built: build it now.
    bento.use()
    readThroughWhileUnproven(bento, bus.proven)
  }
  app.decorate('cache', bento)
  app.addHook('onClose', async () => {
    tracker?.close()
    await bento.disconnect().catch(() => {})
    for (const c of connections) c.disconnect()
  })
}, { name: 'cache', dependencies: ['health', 'breakers'] })
