import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { amqpAvailable, amqpUrl, applyEffect, createEffects, deleteBrokerQueues, effects, jobPrefix, waitFor } from '../helpers/queue.ts'
import { canConnectRedis, redisUrl, requireServices } from '../helpers/services.ts'

// Two deployments on one Redis and one RabbitMQ, told apart only by BACKPLANE_NAMESPACE (each has
// its own database, as deployments do). Neither may run the other's jobs, hear its events, drop
// its cached entries or count its clients.
const withRedis = await canConnectRedis()
if (!withRedis && requireServices) throw new Error(`Redis does not answer at ${redisUrl} (BACKPLANE_REQUIRE_SERVICES=1)`)
const withAmqp = await amqpAvailable()

describe.skipIf(!withRedis || !withAmqp)('BACKPLANE_NAMESPACE on a shared Redis and RabbitMQ', () => {
  const run = jobPrefix()
  const nsA = `${run}-a`
  const nsB = `${run}-b`
  const job = `${run}.shared-name`
  let a: TestApp
  let b: TestApp

  beforeAll(async () => {
    a = await createTestApp({ env: { REDIS_URL: redisUrl, AMQP_URL: amqpUrl, BACKPLANE_NAMESPACE: nsA } })
    b = await createTestApp({ env: { REDIS_URL: redisUrl, AMQP_URL: amqpUrl, BACKPLANE_NAMESPACE: nsB } })
  }, 60_000)

  afterAll(async () => {
    await a?.close()
    await b?.close()
    await deleteBrokerQueues([`${nsA}.${job}`, `${nsB}.${job}`, job])
    const { connect } = await import('amqplib')
    const conn = await connect(amqpUrl)
    const ch = await conn.createChannel()
    for (const ns of [nsA, nsB]) await ch.deleteExchange(`${ns}.backplane.dead`)
    await conn.close()
    const { Redis } = await import('ioredis')
    const redis = new Redis(redisUrl)
    for (const ns of [nsA, nsB]) {
      const keys = await redis.keys(`${ns}:*`)
      if (keys.length > 0) await redis.del(...keys)
    }
    redis.disconnect()
  }, 60_000)

  it('jobs with the same name stay in their own deployment (own queues on the broker)', async () => {
    for (const t of [a, b]) {
      await createEffects(t.app.dbPool)
      t.app.queue.define(job, async (j) => { await applyEffect(t.app.dbPool, j) })
      await t.app.queue.start()
    }
    for (let i = 0; i < 10; i++) {
      await a.app.queue.send(job, { from: 'a', i })
      await b.app.queue.send(job, { from: 'b', i })
    }
    const doneA = await waitFor(() => effects(a.app.dbPool, job), (e) => e.length >= 10)
    const doneB = await waitFor(() => effects(b.app.dbPool, job), (e) => e.length >= 10)
    // A moment more for a stray delivery to show up, had one deployment taken the other's jobs.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await effects(a.app.dbPool, job)).map((e) => (e.data as { from: string }).from)).toEqual(Array(10).fill('a'))
    expect((await effects(b.app.dbPool, job)).map((e) => (e.data as { from: string }).from)).toEqual(Array(10).fill('b'))
    expect(doneA).toHaveLength(10)
    expect(doneB).toHaveLength(10)
    const { connect } = await import('amqplib')
    const conn = await connect(amqpUrl)
    try {
      const ch = await conn.createChannel()
      ch.on('error', () => {})
      expect((await ch.checkQueue(`${nsA}.${job}`)).queue).toBe(`${nsA}.${job}`)
      expect((await ch.checkQueue(`${nsB}.${job}.dead`)).queue).toBe(`${nsB}.${job}.dead`)
      // No queue under the bare name: nothing was left where a namespace-less deployment listens.
      await expect(ch.checkQueue(job)).rejects.toThrow(/NOT_FOUND/)
    } finally {
      await conn.close().catch(() => {})
    }
  }, 60_000)

  it('events published in one deployment are not heard in the other', async () => {
    const heardA: string[] = []
    const heardB: string[] = []
    const stopA = await a.app.pubsub.subscribe('backplane.events', (m) => { heardA.push(m) })
    const stopB = await b.app.pubsub.subscribe('backplane.events', (m) => { heardB.push(m) })
    try {
      const marker = JSON.stringify({ probe: run })
      await a.app.pubsub.publish('backplane.events', marker)
      await waitFor(() => heardA.filter((m) => m === marker).length, (n) => n === 1)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(heardB.filter((m) => m === marker)).toEqual([])
    } finally {
      await stopA()
      await stopB()
    }
  })

  it('a cache delete in one deployment leaves the other deployment\'s entry in place', async () => {
    await a.app.cache.set({ key: `probe:${run}`, value: 'a' })
    await b.app.cache.set({ key: `probe:${run}`, value: 'b' })
    await a.app.cache.delete({ key: `probe:${run}` })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await a.app.cache.get({ key: `probe:${run}` })).toBeUndefined()
    expect(await b.app.cache.get({ key: `probe:${run}` })).toBe('b')
  })

  it('rate-limit counts and cache entries live under the namespace in Redis', async () => {
    await a.app.inject({ method: 'GET', url: '/api/v1/projects' })
    const { Redis } = await import('ioredis')
    const redis = new Redis(redisUrl)
    try {
      expect(await redis.keys(`${nsA}:backplane:rate-limit:*`)).not.toEqual([])
      expect(await redis.keys(`${nsB}:bentocache*`)).not.toEqual([])
    } finally {
      redis.disconnect()
    }
  })
})
