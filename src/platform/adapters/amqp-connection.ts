import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Options, type RecoveringChannelModel } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import type { Breaker } from '../breakers.ts'
import { platformErrors } from '../errors.ts'
import { amqpTopology, declareJob, declareRetry, type AmqpTopology } from './amqp-topology.ts'

/** AmqpLink is one recovering connection to RabbitMQ: channels on demand, confirmed publishes, declared topology. */
export interface AmqpLink {
  /** connection resolves with the live connection, waiting for a reconnect at most `waitMs`. */
  connection: (waitMs?: number) => Promise<ChannelModel>
  /** channel opens a plain channel on the live connection (the caller closes it). */
  channel: (waitMs?: number) => Promise<Channel>
  /** publish sends one message and resolves once the broker has confirmed it (it is then on disk for a durable queue). */
  publish: (exchange: string, routingKey: string, message: { content: Buffer, options: Options.Publish }) => Promise<void>
  /** declare makes sure a job name's queues exist (once per connection). */
  declare: (name: string) => Promise<void>
  /** declareRetry makes sure one delay queue exists (once per connection). */
  declareRetry: (name: string, delayMs: number) => Promise<void>
  /** onConnect runs after every (re)connection: consumers re-subscribe there. */
  onConnect: (listener: () => void) => void
  close: () => Promise<void>
}

function withHeartbeat (url: string): string {
  // A broker that stops answering is noticed within two heartbeats, not the server's default minute.
  const u = new URL(url)
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', '10')
  return u.toString()
}

// A request that needs the broker while it is away is answered 503 with Retry-After, like a database outage.
const unreachable = () => platformErrors.SERVICE_UNAVAILABLE('The job queue (RabbitMQ) is unavailable; retry shortly', { headers: { 'retry-after': '1' } })

function refused (err: unknown): Error {
  return err instanceof Error ? err : new Error('RabbitMQ refused the message')
}

/**
 * createAmqpLink connects lazily (nothing happens until the first use) and reconnects with
 * back-off after the broker restarts; what was declared is declared again on the new connection.
 * With a `breaker` (the app's `amqp` one), failed reconnections and waits that ran out open it;
 * while it is open a caller that needs the broker is refused at once instead of waiting `waitMs`,
 * and the first use after the broker is back closes it.
 */
export function createAmqpLink ({ url, log, waitMs: defaultWaitMs = 5000, topology = amqpTopology(), breaker }: { url: string, log: FastifyBaseLogger, waitMs?: number, topology?: AmqpTopology, breaker?: Breaker }): AmqpLink {
  let recovering: Promise<RecoveringChannelModel> | undefined
  let live: ChannelModel | undefined
  let publisher: Promise<ConfirmChannel> | undefined
  let declared = new Map<string, Promise<void>>()
  let closed = false
  let unreachableLogged = false
  const waiters = new Set<(model: ChannelModel | Error) => void>()
  const listeners: Array<() => void> = []
  const failed = (err: Error) => { breaker?.execute(() => Promise.reject(err)).catch(() => {}) }
  // A half-open breaker lets this trial through; an open one not yet due refuses it (the next use tries again).
  const answered = () => { if (breaker && breaker.state() !== 'closed') breaker.execute(async () => {}).catch(() => {}) }

  function open (): Promise<RecoveringChannelModel> {
    recovering ??= connect(withHeartbeat(url), { recovery: { initialDelay: 200, maxDelay: 5000, waitForConnect: false } }).then((model) => {
      model.on('connect', (m: ChannelModel) => {
        live = m
        publisher = undefined
        declared = new Map()
        if (unreachableLogged) log.info('RabbitMQ connection restored')
        unreachableLogged = false
        for (const waiter of [...waiters]) waiter(m)
        for (const listener of listeners) listener()
      })
      model.on('disconnect', (err: Error) => {
        live = undefined
        publisher = undefined
        failed(err)
        log.warn({ err: { message: err.message } }, 'RabbitMQ connection lost; reconnecting')
      })
      model.on('connect-failed', (err: Error) => {
        failed(err)
        if (!unreachableLogged) log.error({ err: { message: err.message } }, 'RabbitMQ is not reachable; retrying')
        unreachableLogged = true
      })
      model.on('error', (err: Error) => { log.warn({ err: { message: err.message } }, 'RabbitMQ connection error') })
      model.on('blocked', (reason: string) => { log.warn({ reason }, 'RabbitMQ blocked publishing (resource alarm)') })
      return model
    })
    return recovering
  }

  async function connection (waitMs = defaultWaitMs): Promise<ChannelModel> {
    if (closed) throw new Error('the queue is closed')
    if (live) { answered(); return live }
    if (breaker?.refusing()) throw unreachable()
    await open()
    if (live) return live
    return new Promise((resolve, reject) => {
      const waiter = (m: ChannelModel | Error) => {
        waiters.delete(waiter)
        clearTimeout(timer)
        if (m instanceof Error) reject(m)
        else resolve(m)
      }
      const timer = setTimeout(() => {
        const err = unreachable()
        failed(err)
        waiter(err)
      }, waitMs)
      waiters.add(waiter)
    })
  }

  function confirmChannel (): Promise<ConfirmChannel> {
    if (!publisher) {
      const opening = connection().then(async (m) => {
        const ch = await m.createConfirmChannel()
        ch.on('error', (err: Error) => { log.warn({ err: { message: err.message } }, 'RabbitMQ publishing channel error') })
        ch.on('close', () => { if (publisher === opening) publisher = undefined })
        return ch
      })
      publisher = opening
      opening.catch(() => { if (publisher === opening) publisher = undefined })
    }
    return publisher
  }

  function once (key: string, declare: (ch: Channel) => Promise<void>): Promise<void> {
    let done = declared.get(key)
    if (!done) {
      const map = declared
      const attempt = confirmChannel().then(declare)
      map.set(key, attempt)
      attempt.catch(() => { if (map.get(key) === attempt) map.delete(key) })
      done = attempt
    }
    return done
  }

  return {
    connection,
    async channel (waitMs) {
      const ch = await (await connection(waitMs)).createChannel()
      ch.on('error', (err: Error) => { log.debug({ err: { message: err.message } }, 'RabbitMQ channel closed by the broker') })
      return ch
    },
    async publish (exchange, routingKey, { content, options }) {
      const ch = await confirmChannel()
      await new Promise<void>((resolve, reject) => {
        // The confirm callback also fires (with an error) if the channel closes first.
        ch.publish(exchange, routingKey, content, options, (err: unknown) => { if (err) reject(refused(err)); else resolve() })
      })
    },
    declare: (name) => once(name, (ch) => declareJob(ch, topology, name)),
    declareRetry: (name, delayMs) => once(`${name}\n${delayMs}`, (ch) => declareRetry(ch, topology, name, delayMs)),
    onConnect: (listener) => { listeners.push(listener) },
    async close () {
      closed = true
      for (const waiter of [...waiters]) waiter(new Error('the queue is closed'))
      const model = recovering && await recovering.catch(() => undefined)
      live = undefined
      await model?.close().catch(() => {})
    }
  }
}
