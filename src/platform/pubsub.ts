import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import type { Redis } from 'ioredis'

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
 * redisPubSub publishes on one connection and listens on another (a subscribed Redis connection
 * can do nothing else). Both reconnect by themselves; while Redis is away, publish rejects
 * (the outbox relay then retries) and subscriptions are restored on reconnect.
 */
export async function redisPubSub (url: string): Promise<PubSub> {
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
      await pub.publish(topic, message)
    },
    async subscribe (topic, handler) {
      let set = handlers.get(topic)
      if (!set) {
        set = new Set()
        handlers.set(topic, set)
        // Not awaited: while Redis is away it waits for the connection; ioredis resubscribes on reconnect.
        sub.subscribe(topic).catch(() => {})
      }
      set.add(handler)
      return async () => {
        set.delete(handler)
        if (set.size === 0) {
          handlers.delete(topic)
          await sub.unsubscribe(topic).catch(() => {})
        }
      }
    },
    async close () {
      pub.disconnect()
      sub.disconnect()
    }
  }
}

/** pubsub decorates `app.pubsub`: Redis with REDIS_URL, otherwise in-process. */
export default fp(async function pubsub (app) {
  const url = app.config.redis.url
  const bus = url ? await redisPubSub(url) : memoryPubSub()
  app.decorate('pubsub', bus)
  app.addHook('onClose', async () => { await bus.close() })
}, { name: 'pubsub' })
