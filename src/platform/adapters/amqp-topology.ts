import type { Channel, Message, Options } from 'amqplib'
import type { RetryPolicy } from '../queue-port.ts'
import { asTraceCarrier, type TraceCarrier } from '../tracing.ts'

import { brokerNames, type BrokerNames } from '../namespace.ts'

/**
 * AmqpTopology names one deployment's exchanges and queues on the broker. A job keeps its own name
 * in the application (and as the routing key on the deployment's dead-letter exchange); its queues
 * carry the BACKPLANE_NAMESPACE prefix, so deployments sharing a broker never consume each other's jobs.
 */
export interface AmqpTopology {
  /** deadExchange receives every job that failed for the last time, routed by job name to its dead queue. */
  readonly deadExchange: string
  /** queue is the work queue of a job name. */
  queue: (name: string) => string
  /** deadQueue is where a job name's dead letters wait for an operator (`<name>.dead`). */
  deadQueue: (name: string) => string
  /** retryQueue holds a job name's failed jobs for one delay before they go back (`<name>.retry.<ms>`). */
  retryQueue: (name: string, delayMs: number) => string
}

/** amqpTopology is the naming of one deployment (no namespace: `backplane.dead`, `<name>`, `<name>.dead`, `<name>.retry.<ms>`). */
export function amqpTopology (names: BrokerNames = brokerNames('')): AmqpTopology {
  return {
    deadExchange: names.amqp('backplane.dead'),
    queue: (name) => names.amqp(name),
    deadQueue: (name) => names.amqp(`${name}.dead`),
    retryQueue: (name, delayMs) => names.amqp(`${name}.retry.${delayMs}`)
  }
}

/**
 * declareJob makes sure a job name's queues exist: the durable work queue (whatever the broker
 * itself rejects goes to the dead-letter exchange) and its dead-letter queue.
 */
export async function declareJob (channel: Channel, topology: AmqpTopology, name: string): Promise<void> {
  const { deadExchange } = topology
  await channel.assertExchange(deadExchange, 'direct', { durable: true })
  await channel.assertQueue(topology.deadQueue(name), { durable: true })
  await channel.bindQueue(topology.deadQueue(name), deadExchange, name)
  await channel.assertQueue(topology.queue(name), { durable: true, arguments: { 'x-dead-letter-exchange': deadExchange, 'x-dead-letter-routing-key': name } })
}

/**
 * declareRetry makes sure the delay queue for one back-off step exists. Every message in it waits
 * the same time (a queue-wide TTL), so none waits behind a longer one; on expiry the broker
 * dead-letters it back into the work queue.
 */
export async function declareRetry (channel: Channel, topology: AmqpTopology, name: string, delayMs: number): Promise<void> {
  await channel.assertQueue(topology.retryQueue(name, delayMs), {
    durable: true,
    arguments: { 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': topology.queue(name) }
  })
}

/** Envelope is a job as it travels through the broker: the payload is the body, the rest are headers. */
export interface Envelope { id: string, name: string, data: unknown, attempt: number, policy: RetryPolicy, trace: TraceCarrier | null }

const H = { attempt: 'bp-attempt', limit: 'bp-retry-limit', delay: 'bp-retry-delay', backoff: 'bp-retry-backoff', error: 'bp-error', failedAt: 'bp-failed-at' }

/** encode turns a job into a persistent JSON message whose id is the job id. */
export function encode (job: Envelope, extra: Record<string, string> = {}): { content: Buffer, options: Options.Publish } {
  return {
    content: Buffer.from(JSON.stringify(job.data ?? null)),
    options: {
      persistent: true,
      messageId: job.id,
      type: job.name,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      headers: {
        [H.attempt]: job.attempt,
        [H.limit]: job.policy.retryLimit,
        [H.delay]: job.policy.retryDelaySeconds,
        [H.backoff]: job.policy.retryBackoff,
        // The W3C trace context of the send, as the standard headers: the consumer continues that trace.
        ...(job.trace ? job.trace : {}),
        ...extra
      }
    }
  }
}

/** failureHeaders mark a dead letter with why and when it failed for the last time. */
export function failureHeaders (error: string): Record<string, string> {
  return { [H.error]: error, [H.failedAt]: new Date().toISOString() }
}

function whole (value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : fallback
}

/** decode reads a delivered job; a message without a job id or with a body that is not JSON gives undefined. */
export function decode (name: string, message: Message): Envelope | undefined {
  const id: unknown = message.properties.messageId
  if (typeof id !== 'string' || id.length === 0) return undefined
  let data: unknown
  try { data = JSON.parse(message.content.toString('utf8')) } catch { return undefined }
  const headers = message.properties.headers ?? {}
  return {
    id,
    name,
    data,
    attempt: Math.max(1, whole(headers[H.attempt], 1)),
    policy: {
      retryLimit: whole(headers[H.limit], 3),
      retryDelaySeconds: whole(headers[H.delay], 5),
      retryBackoff: headers[H.backoff] !== false
    },
    trace: asTraceCarrier(headers)
  }
}

/** deadLetterInfo reads why and when a dead letter failed (the broker's own x-death header for rejected messages). */
export function deadLetterInfo (message: Message): { error: string | null, failedAt: string } {
  const headers = message.properties.headers ?? {}
  const error: unknown = headers[H.error]
  const failedAt: unknown = headers[H.failedAt]
  const death = headers['x-death']?.[0]
  return {
    error: typeof error === 'string' ? error : death ? `rejected by the broker (${death.reason})` : null,
    failedAt: typeof failedAt === 'string' ? failedAt : death?.time ? new Date(death.time.value * 1000).toISOString() : new Date(0).toISOString()
  }
}
