import fp from 'fastify-plugin'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import type { Redis } from 'ioredis'
import { brokerNames } from './namespace.ts'
import { namespacedBus, siblingBus } from './adapters/bus-drivers.ts'

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

async function connectedWithin (client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return true
  return new Promise((resolve) => {
    const done = (ok: boolean) => { clearTimeout(timer); client.off('ready', onReady); resolve(ok) }
    const onReady = () => { done(true) }
    const timer = setTimeout(() => { done(false) }, ms)
    client.on('ready', onReady)
  })
}

/**
 * cache builds the cache port. With REDIS_URL, deletes reach every node through the Redis bus
 * (so a revoked session is refused everywhere at once); if Redis fails, reads fall back to
 * memory and the database instead of failing.
 */
export default fp(async function cache (app) {
  const url = app.config.redis.url
  const names = brokerNames(app.config.namespace)
  const store = bentostore().useL1Layer(memoryDriver({ maxSize: '64mb', maxItems: 100_000 }))
  const connections: Redis[] = []
  if (url) {
    // Loaded only when configured: a single node without Redis never pays for the drivers.
    const [{ Redis: RedisClient }, { redisBusDriver, redisDriver }] = await Promise.all([import('ioredis'), import('bentocache/drivers/redis')])
    const warn = (err: Error) => { app.log.warn({ err: { message: err.message } }, 'redis connection problem (cache)') }
    const l2 = new RedisClient(url, redisOptions(url))
    l2.on('error', warn)
    connections.push(l2)
    // The bus library subscribes without awaiting: with Redis down that promise rejects unhandled
    // at shutdown. So the bus is only attached when Redis answers at start; otherwise this node
    // runs memory-only (revocations from other nodes then reach it within the 30 s TTL) and says so.
    if (await connectedWithin(l2, 2000)) {
      const bus = new RedisClient(url, { ...redisOptions(url), enableOfflineQueue: true })
      // The bus duplicates this client for its publisher and subscriber: give those error listeners too.
      const duplicate = bus.duplicate.bind(bus)
      bus.duplicate = (...args: Parameters<typeof bus.duplicate>) => {
        const copy = duplicate(...args)
        copy.on('error', warn)
        connections.push(copy)
        return copy
      }
      bus.on('error', warn)
      connections.push(bus)
      store.useL2Layer(redisDriver({ connection: l2 })).useBus(namespacedBus(redisBusDriver({ connection: bus }), names, warn))
    } else {
      app.log.error({ redis: 'unreachable' }, 'Redis did not answer at start: the cache runs memory-only on this node until restart')
    }
    // Redis is not required to serve (decision 6): its failure degrades readiness, never fails it.
    app.addReadinessCheck('redis', async () => { await l2.ping() }, { critical: false })
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
  app.decorate('cache', bento)
  app.addHook('onClose', async () => {
    await bento.disconnect().catch(() => {})
    for (const c of connections) c.disconnect()
  })
}, { name: 'cache', dependencies: ['health'] })
