import type { Channel, ConsumeMessage } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../db.ts'
import { asTraceCarrier, tracing } from '../tracing.ts'
import { QUEUE_DEFAULTS, errorMessage, retryDelaySeconds, runTraced, type DeadLetter, type JobDefinition, type QueueBackend, type RetryPolicy } from '../queue-port.ts'
import { createAmqpLink, type AmqpLink } from './amqp-connection.ts'
import { createOutbox, type OutboxFaults } from './amqp-outbox.ts'
import { amqpTopology, deadLetterInfo, decode, encode, failureHeaders, type Envelope } from './amqp-topology.ts'
import type { BrokerNames } from '../namespace.ts'
import type { Breaker } from '../breakers.ts'

interface Consumer {
  definition: JobDefinition
  channel?: Channel
  tag?: string
  opening?: Promise<void>
  inflight: Set<Promise<void>>
}

// How far retryDeadLetter looks into a dead-letter queue for the id it was given.
const DEAD_SCAN_LIMIT = 10_000

function isNotFound (err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 404
}

function settle (action: () => void): void {
  // The channel may have closed under us: the broker then redelivers the message, which is the point.
  try { action() } catch {}
}

/** retryDelays lists the delay queues a policy uses, in milliseconds. */
function retryDelays (policy: RetryPolicy): number[] {
  const delays = new Set<number>()
  for (let attempt = 1; attempt <= policy.retryLimit; attempt++) delays.add(retryDelaySeconds(policy, attempt) * 1000)
  delays.delete(0)
  return [...delays]
}

/** AmqpQueueOptions are what the RabbitMQ adapter needs; `faults` exists for crash tests only. */
export interface AmqpQueueOptions { url: string, db: Database, log: FastifyBaseLogger, names?: BrokerNames, faults?: OutboxFaults, breaker?: Breaker }

/**
 * createAmqpQueue runs jobs on RabbitMQ. A send writes the job to the `queue_outbox` table (in
 * the caller's transaction when given) and the relay publishes it with publisher confirms to a
 * durable queue as a persistent message. Consumers use manual acks with prefetch = concurrency;
 * a failed job goes through a per-delay retry queue (TTL, then back), and after its last attempt
 * to `<name>.dead` through the dead-letter exchange. The connection recovers after a broker restart.
 * Every exchange and queue carries the BACKPLANE_NAMESPACE prefix (`names`).
 */
export function createAmqpQueue ({ url, db, log, names, faults, breaker }: AmqpQueueOptions): QueueBackend {
  const topology = amqpTopology(names)
  const link: AmqpLink = createAmqpLink({ url, log, topology, breaker })
  const outbox = createOutbox({
    db,
    log,
    faults,
    publish: async (row) => {
      const policy = { retryLimit: row.retryLimit, retryDelaySeconds: row.retryDelaySeconds, retryBackoff: row.retryBackoff }
      const trace = asTraceCarrier(row.traceContext)
      const send = async () => {
        await link.declare(row.name)
        await link.publish('', topology.queue(row.name), encode({ id: row.id, name: row.name, data: row.data, attempt: 1, policy, trace }))
      }
      // Published in the sender's trace: the amqplib instrumentation's publish span (and the
      // traceparent header it writes) then belong to the request that sent the job.
      await (trace ? tracing.span(`${row.name} publish`, { parent: trace, kind: 'producer', attributes: { 'messaging.system': 'rabbitmq', 'messaging.message.id': row.id } }, send) : send())
    }
  })
  const consumers = new Map<string, Consumer>()
  const known = new Set<string>()
  let started = false
  let stopping = false

  async function fail (job: Envelope, error: unknown): Promise<void> {
    if (job.attempt <= job.policy.retryLimit) {
      const delayMs = retryDelaySeconds(job.policy, job.attempt) * 1000
      const next = encode({ ...job, attempt: job.attempt + 1 })
      if (delayMs === 0) return link.publish('', topology.queue(job.name), next)
      await link.declareRetry(job.name, delayMs)
      return link.publish('', topology.retryQueue(job.name, delayMs), next)
    }
    await link.declare(job.name)
    await link.publish(topology.deadExchange, job.name, encode(job, failureHeaders(errorMessage(error))))
  }

  async function handle (c: Consumer, ch: Channel, message: ConsumeMessage): Promise<void> {
    const { name, handler } = c.definition
    const job = decode(name, message)
    if (!job) {
      log.warn({ job: name }, 'undecodable job message sent to the dead-letter queue')
      settle(() => { ch.nack(message, false, false) })
      return
    }
    let error: unknown
    try {
      await runTraced(handler, { id: job.id, name, data: job.data, attempt: job.attempt }, job.trace)
      settle(() => { ch.ack(message) })
      return
    } catch (err) { error = err }
    try {
      // The next attempt (or the dead letter) is confirmed before this delivery is acked:
      // a crash in between duplicates the job, never loses it.
      await fail(job, error)
      settle(() => { ch.ack(message) })
    } catch (publishErr) {
      log.warn({ job: name, jobId: job.id, err: { message: errorMessage(publishErr) } }, 'cannot schedule the retry; the job goes back to its queue')
      await new Promise((resolve) => setTimeout(resolve, 1000))
      settle(() => { ch.nack(message, false, true) })
    }
  }

  async function subscribe (c: Consumer): Promise<void> {
    const ch = await link.channel()
    ch.on('close', () => {
      if (c.channel !== ch) return
      c.channel = undefined
      c.tag = undefined
      // A channel the broker closed while the connection lives: subscribe again shortly.
      if (!stopping) setTimeout(() => { ensureConsumer(c) }, 1000).unref()
    })
    c.channel = ch
    await ch.prefetch(c.definition.concurrency)
    await link.declare(c.definition.name)
    const { consumerTag } = await ch.consume(topology.queue(c.definition.name), (message) => {
      if (!message) return
      const done: Promise<void> = handle(c, ch, message).finally(() => { c.inflight.delete(done) })
      c.inflight.add(done)
    }, { noAck: false })
    c.tag = consumerTag
  }

  function ensureConsumer (c: Consumer): void {
    if (stopping || c.channel || c.opening) return
    c.opening = subscribe(c)
      .catch((err: unknown) => {
        log.warn({ job: c.definition.name, err: { message: errorMessage(err) } }, 'cannot consume jobs yet; retrying after reconnect')
        c.channel?.close().catch(() => {})
        c.channel = undefined
      })
      .finally(() => { c.opening = undefined })
  }

  link.onConnect(() => {
    if (!started) return
    for (const c of consumers.values()) {
      // The old channel died with the old connection.
      c.channel = undefined
      c.tag = undefined
      ensureConsumer(c)
    }
  })

  async function browse<T> (name: string, use: (ch: Channel, dead: string) => Promise<T>, missing: T): Promise<T> {
    const ch = await link.channel()
    try {
      // A queue never declared (checkQueue → 404) has no dead letters; nothing is created for it.
      await ch.checkQueue(topology.deadQueue(name))
      return await use(ch, topology.deadQueue(name))
    } catch (err) {
      if (isNotFound(err)) return missing
      throw err
    } finally {
      // Closing the channel returns every message got but not acked to the queue, in order.
      await ch.close().catch(() => {})
    }
  }

  return {
    kind: 'amqp',
    async send (job, tx?: Database) {
      known.add(job.name)
      return outbox.insert(job, tx)
    },
    async sendMany (jobs, tx?: Database) {
      for (const job of jobs) known.add(job.name)
      return outbox.insertMany(jobs, tx)
    },
    async start (definitions) {
      started = true
      outbox.start()
      for (const definition of definitions) {
        if (consumers.has(definition.name)) continue
        known.add(definition.name)
        const c: Consumer = { definition, inflight: new Set() }
        consumers.set(definition.name, c)
        ensureConsumer(c)
      }
      await Promise.all([...consumers.values()].map((c) => c.opening))
    },
    async stop (timeoutMs) {
      stopping = true
      await outbox.stop()
      const all = [...consumers.values()]
      await Promise.all(all.map(async (c) => {
        await c.opening
        if (c.channel && c.tag) await c.channel.cancel(c.tag).catch(() => {})
      }))
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
      await Promise.race([Promise.allSettled(all.flatMap((c) => [...c.inflight])), timeout])
      clearTimeout(timer)
      // Unacked deliveries (jobs still running past the budget) go back to the broker for another node.
      await Promise.all(all.map((c) => c.channel?.close().catch(() => {})))
    },
    async stats (definitions) {
      const policies = new Map<string, RetryPolicy>(definitions.map((d) => [d.name, d]))
      const names = [...new Set([...policies.keys(), ...known])].sort()
      const pending = await outbox.pending(names)
      const ch = await link.channel()
      try {
        const out = []
        for (const name of names) {
          await link.declare(name)
          const main = await ch.checkQueue(topology.queue(name))
          const dead = await ch.checkQueue(topology.deadQueue(name))
          let waiting = 0
          for (const delayMs of retryDelays(policies.get(name) ?? QUEUE_DEFAULTS)) {
            await link.declareRetry(name, delayMs)
            waiting += (await ch.checkQueue(topology.retryQueue(name, delayMs))).messageCount
          }
          out.push({
            name,
            queued: main.messageCount + (pending.get(name) ?? 0),
            active: consumers.get(name)?.inflight.size ?? 0,
            failed: waiting,
            deadLetters: dead.messageCount
          })
        }
        return out
      } finally {
        await ch.close().catch(() => {})
      }
    },
    deadLetters: (name, limit) => browse(name, async (ch, dead) => {
      const out: DeadLetter[] = []
      while (out.length < limit) {
        const message = await ch.get(dead, { noAck: false })
        if (!message) break
        const id: unknown = message.properties.messageId
        let data: unknown = null
        try { data = JSON.parse(message.content.toString('utf8')) } catch {}
        out.push({ id: typeof id === 'string' ? id : '', name, data, ...deadLetterInfo(message) })
      }
      return out
    }, []),
    retryDeadLetter: (name, id) => browse(name, async (ch, dead) => {
      for (let seen = 0; seen < DEAD_SCAN_LIMIT; seen++) {
        const message = await ch.get(dead, { noAck: false })
        if (!message) return false
        if (message.properties.messageId !== id) continue
        const job = decode(name, message)
        if (!job) return false
        // Same job id, attempts counted afresh: the handler still dedupes by id.
        await link.declare(name)
        await link.publish('', topology.queue(name), encode({ ...job, attempt: 1 }))
        ch.ack(message)
        return true
      }
      return false
    }, false),
    async check () {
      await link.connection(800)
    },
    async close () {
      await outbox.stop()
      await link.close()
    }
  }
}
