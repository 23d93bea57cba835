/**
 * Siblings is a worker process's line to the other workers of its machine, through the primary
 * that started them (`backplane start --workers N`). Without REDIS_URL it carries pub/sub, cache
 * invalidation and rate-limit counts between the workers; it also fetches the group's metrics.
 */
export interface Siblings {
  /** broadcast hands a message to every other worker (not this one). */
  broadcast: (topic: string, message: unknown) => void
  /** listen calls the handler for every message other workers broadcast on the topic, until the returned function is called. */
  listen: (topic: string, handler: (message: unknown) => void) => () => void
  /** ask sends a request to the primary and resolves with its answer, rejecting after `timeoutMs`. */
  ask: <T>(kind: string, body: unknown, timeoutMs?: number) => Promise<T>
}

/** SiblingMessage is what travels between a worker and its primary (`bp` tells Backplane's messages from others). */
export type SiblingMessage =
  | { bp: 'broadcast', topic: string, message: unknown }
  | { bp: 'ask', id: number, kind: string, body: unknown }
  | { bp: 'answer', id: number, ok: boolean, body: unknown }

/** isSiblingMessage tells Backplane's IPC messages from prom-client's and anything else on the channel. */
export function isSiblingMessage (value: unknown): value is SiblingMessage {
  return typeof value === 'object' && value !== null && 'bp' in value && typeof value.bp === 'string'
}

/** processSiblings is the Siblings of this worker process, over its IPC channel to the primary. */
export function processSiblings (): Siblings {
  const send = process.send?.bind(process)
  if (!send) throw new Error('processSiblings needs a process started with an IPC channel (a cluster worker)')
  const listeners = new Map<string, Set<(message: unknown) => void>>()
  const waiting = new Map<number, { resolve: (body: never) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }>()
  let nextId = 1
  process.on('message', (raw: unknown) => {
    if (!isSiblingMessage(raw)) return
    if (raw.bp === 'broadcast') {
      for (const handler of listeners.get(raw.topic) ?? []) handler(raw.message)
    } else if (raw.bp === 'answer') {
      const entry = waiting.get(raw.id)
      if (!entry) return
      waiting.delete(raw.id)
      clearTimeout(entry.timer)
      if (raw.ok) entry.resolve(raw.body as never)
      else entry.reject(new Error(String(raw.body)))
    }
  })
  // The IPC channel must not keep a worker alive once its server has closed.
  process.channel?.unref()
  const post = (message: SiblingMessage): boolean => {
    // A worker whose primary has gone cannot reach its siblings: callers fall back to local behaviour.
    if (!process.connected) return false
    send(message)
    return true
  }
  return {
    broadcast (topic, message) { post({ bp: 'broadcast', topic, message }) },
    listen (topic, handler) {
      let set = listeners.get(topic)
      if (!set) listeners.set(topic, set = new Set())
      set.add(handler)
      return () => { set.delete(handler) }
    },
    ask<T> (kind: string, body: unknown, timeoutMs = 1000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const id = nextId++
        const timer = setTimeout(() => { waiting.delete(id); reject(new Error(`the primary did not answer ${kind} within ${timeoutMs} ms`)) }, timeoutMs)
        waiting.set(id, { resolve: resolve as (body: never) => void, reject, timer })
        if (!post({ bp: 'ask', id, kind, body })) {
          waiting.delete(id)
          clearTimeout(timer)
          reject(new Error('the primary is gone'))
        }
      })
    }
  }
}
