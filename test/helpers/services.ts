import pg from 'pg'

/** requireServices is true on the services lane (BACKPLANE_REQUIRE_SERVICES=1): a missing service fails, never skips. */
export const requireServices = process.env.BACKPLANE_REQUIRE_SERVICES === '1'

/** canConnectPostgres tells whether a PostgreSQL server answers at the URL within a few seconds. */
export async function canConnectPostgres (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** adminQuery runs one statement on a maintenance connection and closes it. */
export async function adminQuery (url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return await client.query(sql, params)
  } finally {
    await client.end()
  }
}

/** redisUrl is the Redis the services lane uses. */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** canConnectRedis tells whether Redis answers PING within a couple of seconds. */
export async function canConnectRedis (url: string = redisUrl): Promise<boolean> {
  const { Redis } = await import('ioredis')
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}
