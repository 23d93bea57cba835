import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestApp } from '../../../test/helpers/app.ts'
import { amqpAvailable, amqpUrl, applyEffect, createEffects, deleteBrokerQueues, effects, jobPrefix, waitFor } from '../../../test/helpers/queue.ts'
import { freePort } from '../../../test/helpers/process.ts'
import { createJobQueue } from '../queue.ts'
import { createAmqpQueue } from './amqp-queue.ts'

const withAmqp = await amqpAvailable()
const names = new Set<string>()
const prefix = jobPrefix()
const jobName = (what: string) => {
  const n = `${prefix}.${what}`
  names.add(n)
  return n
}
afterAll(async () => { if (withAmqp) await deleteBrokerQueues(names) })

/** brokerProxy forwards TCP to RabbitMQ and can cut every connection through it (a broker restart, as the client sees it). */
async function brokerProxy (target: URL) {
  let refusing = false
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    if (refusing) { client.destroy(); return }
    const upstream = tcpConnect(Number(target.port || 5672), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const url = new URL(target)
  url.host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: url.toString(),
    cut () {
      refusing = true
      for (const s of sockets) s.destroy()
    },
    heal () { refusing = false },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

describe('RabbitMQ queue without a broker', () => {
  it('reports the queue not ready while the broker is unreachable, and still accepts jobs into the outbox', async () => {
    const t = await createTestApp({ env: { AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}` } })
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
      expect(res.statusCode).toBe(503)
      expect(res.json()).toMatchObject({ status: 'unavailable', checks: { queue: { status: 'fail' } } })
      expect(await t.app.queue.send('outbox.only', { kept: true })).toBeTruthy()
      const { rows } = await t.app.dbPool.query('SELECT name, data, published_at FROM queue_outbox')
      expect(rows).toEqual([{ name: 'outbox.only', data: { kept: true }, published_at: null }])
    } finally {
      await t.close()
    }
  })
})

describe.skipIf(!withAmqp)('RabbitMQ queue faults', () => {
  it('publishes again what a relay confirmed but crashed before recording; the handler applies it once', async () => {
    const t = await createTestApp()
    await createEffects(t.app.dbPool)
    let crashes = 0
    const backend = createAmqpQueue({
      url: amqpUrl,
      db: t.app.db,
      log: t.app.log,
      faults: {
        afterPublish: async () => {
          if (crashes++ === 0) throw new Error('relay crashed between the confirm and the commit')
        }
      }
    })
    const queue = createJobQueue(backend, { concurrency: 2, stopTimeoutMs: 2000 })
    try {
      const n = jobName('outbox-crash')
      queue.define(n, async (job) => { await applyEffect(t.app.dbPool, job) })
      await queue.start()
      const id = await queue.send(n, { once: true })
      const done = await waitFor(() => effects(t.app.dbPool, n), (e) => e[0]?.deliveries === 2)
      expect(done).toEqual([{ jobId: id, data: { once: true }, deliveries: 2 }])
      const { rows } = await t.app.dbPool.query('SELECT published_at IS NOT NULL AS published FROM queue_outbox WHERE id = $1', [id])
      expect(rows).toEqual([{ published: true }])
    } finally {
      await queue.stop()
      await backend.close()
      await t.close()
    }
  })

  it('reconnects after the connection to the broker drops, resumes consuming, and readiness follows', async () => {
    const proxy = await brokerProxy(new URL(amqpUrl))
    const t = await createTestApp({ env: { AMQP_URL: proxy.url } })
    try {
      await createEffects(t.app.dbPool)
      const n = jobName('reconnect')
      t.app.queue.define(n, async (job) => { await applyEffect(t.app.dbPool, job) })
      await t.app.queue.start()
      await t.app.queue.send(n, { before: true })
      await waitFor(() => effects(t.app.dbPool, n), (e) => e.length === 1)

      proxy.cut()
      await waitFor(async () => (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, (s) => s === 503)
      // Accepted while the broker is away: it waits in the outbox.
      await t.app.queue.send(n, { during: true })
      proxy.heal()
      await waitFor(async () => (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, (s) => s === 200)
      await t.app.queue.send(n, { after: true })
      const done = await waitFor(() => effects(t.app.dbPool, n), (e) => e.length === 3, 20_000)
      expect(done.map((e) => e.data)).toEqual(expect.arrayContaining([{ before: true }, { during: true }, { after: true }]))
    } finally {
      await t.close()
      await proxy.close()
    }
  })

  it('sends a message that is not a job to the dead-letter queue through the dead-letter exchange', async () => {
    const t = await createTestApp({ env: { AMQP_URL: amqpUrl } })
    const { connect } = await import('amqplib')
    const conn = await connect(amqpUrl)
    try {
      const n = jobName('poison')
      let ran = 0
      t.app.queue.define(n, async () => { ran++ })
      await t.app.queue.start()
      const ch = await conn.createConfirmChannel()
      ch.sendToQueue(n, Buffer.from('not json {'), { persistent: true, messageId: 'poison-1' })
      await ch.waitForConfirms()
      const [dead] = await waitFor(() => t.app.queue.deadLetters(n), (d) => d.length === 1)
      expect(dead).toMatchObject({ id: 'poison-1', name: n, data: null, error: 'rejected by the broker (rejected)' })
      expect(ran).toBe(0)
      // Browsing leaves dead letters in place.
      expect(await t.app.queue.deadLetters(n)).toHaveLength(1)
    } finally {
      await conn.close()
      await t.close()
    }
  })
})
