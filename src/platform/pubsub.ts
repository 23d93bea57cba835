import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import type { Redis } from 'ioredis'
import type { Breaker } from './breakers.ts'
import { brokerNames, type BrokerNames } from './namespace.ts'
import type { Siblings } from './siblings.ts'

/** PubSub is the pubsub port: fan-out of small messages to every node (in-process, or Redis with REDIS_URL). */
export interface PubSub {
  readonly kind: 'memory' | 'redis'
  /** publish sends a message to every subscriber of the topic on every node; it rejects when the message could not be handed over. */
  publish: (topic: string, message: string) => Promise<void>
  /** subscribe calls the handler for each message on the topic (on this node) until the returned function is called. */
  subscribe: (topic: string, handler: (message: string) => void) => Promise<() => Promise<void>>
  close: () => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** pubsub carries events, CORS changes and revocations to every node. */
    pubsub: PubSub
  }
}

/** memoryPubSub delivers within this process only: one node. */
export function memoryPubSub (): PubSub {
  const bus = new EventEmitter()
  bus.setMaxListeners(0)
  return {
    kind: 'memory',
    async publish (topic, message) {
      // Asynchronous like Redis: a subscriber never runs inside the publisher's call.
      queueMicrotask(() => { bus.emit(topic, message) })
    },
    async subscribe (topic, handler) {
      bus.on(topic, handler)
      return async () => { bus.off(topic, handler) }
    },
    async close () { bus.removeAllListeners() }
  }
}

/**
 * siblingPubSub delivers within this process and, through the primary, to the other worker
 * processes of this machine (`--workers N` without REDIS_URL): one machine, several processes.
 */
export function siblingPubSub (siblings: Siblings): PubSub {
  const local = memoryPubSub()
  const stops = new Map<string, () => void>()
  return {
    kind: 'memory',
    async publish (topic, message) {
      siblings.broadcast(`pubsub:${topic}`, message)
      await local.publish(topic, message)
    },
    async subscribe (topic, handler) {
      // One sibling listener per topic feeds the local bus, which fans out to this process's handlers.
      if (!stops.has(topic)) {
        stops.set(topic, siblings.listen(`pubsub:${topic}`, (message) => { local.publish(topic, String(message)).catch(() => {}) }))
      }
      return local.subscribe(topic, handler)
    },
    async close () {
      for (const stop of stops.values()) stop()
      await local.close()
    }
  }
}

/**
 * redisPubSub publishes on one connection and listens on another (a subscribed Redis connection
 * can do nothing else). Both reconnect by themselves; while Redis is away, publish rejects
 * (the outbox relay then retries) and subscriptions are restored on reconnect. Topics travel as
 * channels named through `names` (BACKPLANE_NAMESPACE), so deployments sharing Redis hear only their own.
 * With a `breaker`, publishes go through it: once Redis has failed a few in a row they are refused
 * at once (the relay keeps its events and tries again) instead of each waiting for a reply.
 */
export async function redisPubSub (url: string, names: BrokerNames = brokerNames(''), breaker?: Breaker): Promise<PubSub> {
  const { Redis } = await import('ioredis')
  const options = { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000, enableOfflineQueue: true, lazyConnect: true }
  const pub: Redis = new Redis(url, { ...options, enableOfflineQueue: false })
  const sub: Redis = new Redis(url, { ...options, commandTimeout: undefined })
  pub.on('error', () => {})
  sub.on('error', () => {})
  const handlers = new Map<string, Set<(message: string) => void>>()
  sub.on('message', (topic: string, message: string) => {
    for (const h of handlers.get(topic) ?? []) h(message)
  })
  await Promise.allSettled([pub.connect(), sub.connect()])
  return {
    kind: 'redis',
    async publish (topic, message) {
      const send = () => pub.publish(names.redis(topic), message)
      await (breaker ? breaker.execute(send) : send())
    },
    async subscribe (topic, handler) {
      const channel = names.redis(topic)
      let set = handlers.get(channel)
      if (!set) {
        set = new Set()
        handlers.set(channel, set)
        // Not awaited: while Redis is away it waits for the connection; ioredis resubscribes on reconnect.
        sub.subscribe(channel).catch(() => {})
      }
      set.add(handler)
      return async () => {
        set.delete(handler)
        if (set.size === 0) {
          handlers.delete(channel)
          await sub.unsubscribe(channel).catch(() => {})
        }
      }
    },
    async close () {
      pub.disconnect()
      sub.disconnect()
    }
  }
}

/** pubsub decorates `app.pubsub`: Redis with REDIS_URL, otherwise in-process (and to sibling workers through their primary). */
export default fp(async function pubsub (app) {
  const url = app.config.redis.url
  const breaker = () => app.breakers.create('redis-pubsub', { counts: () => true, threshold: 3, halfOpenAfterMs: 1000 })
  const bus = url ? await redisPubSub(url, brokerNames(app.config.namespace), breaker()) : app.siblings ? siblingPubSub(app.siblings) : memoryPubSub()
  app.decorate('pubsub', bus)
  app.addHook('onClose', async () => { await bus.close() })
}, { name: 'pubsub', dependencies: ['breakers'] })
