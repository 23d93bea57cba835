import { Redis } from 'ioredis'
import type { SharedCounter, WindowCount } from './rate-limit-store.ts'

// One round trip per hit: count, start the window on the first hit, and report the time left.
// A key found without an expiry (written by hand, say) is given one, so it can never pin a client
// at its limit forever.
const COUNT_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if current == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { current, ttl }
`

/** RedisRateLimitCounter is the shared rate-limit counter on Redis, with the connection it owns. */
export interface RedisRateLimitCounter extends SharedCounter {
  /** ping answers when Redis does, for the readiness check. */
  ping: () => Promise<void>
  close: () => void
}

interface CountingClient {
  backplaneRateLimit: (key: string, windowMs: number) => Promise<[number, number]>
}

/**
 * createRedisRateLimitCounter connects to Redis with bounded waits: a dead Redis fails a call at
 * once (no offline queue) and a frozen one within `commandTimeoutMs`, so the caller can fall back
 * to memory instead of holding requests (SECURITY.md decision 6, RL-03).
 */
export function createRedisRateLimitCounter (url: string, options: { keyPrefix?: string, commandTimeoutMs?: number } = {}): RedisRateLimitCounter {
  const prefix = options.keyPrefix ?? 'backplane:rate-limit:'
  const client = new Redis(url, {
    connectTimeout: 2000,
    commandTimeout: options.commandTimeoutMs ?? 750,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Reconnect quickly after an outage so shared limits come back within a few seconds.
    retryStrategy: (times) => Math.min(times * 200, 2000)
  })
  // Connection errors surface through the failed calls (logged, rate-limited, by the store);
  // without a listener ioredis would report them as unhandled.
  client.on('error', () => {})
  client.defineCommand('backplaneRateLimit', { numberOfKeys: 1, lua: COUNT_SCRIPT })
  const counting = client as unknown as CountingClient

  return {
    async incr (key: string, windowMs: number): Promise<WindowCount> {
      const [current, ttl] = await counting.backplaneRateLimit(prefix + key, windowMs)
      return { current: Number(current), ttl: Number(ttl) }
    },
    async ping () { await client.ping() },
    close () { client.disconnect() }
  }
}
