import { v5 as uuidV5, validate as isUuid } from 'uuid'
import type { Database } from './db.ts'
import { tracing, type TraceCarrier } from './tracing.ts'

// The queue port: what modules and the adapters see. The plugin and createJobQueue (queue.ts) pick
// an adapter; an adapter imports this file only, so no adapter imports the code that loads it.

/** Job is one delivery of a job to its handler; `attempt` starts at 1 and counts failed runs before it. */
export interface Job<T = unknown> { id: string, name: string, data: T, attempt: number }

/** JobOptions tune one send; every field is optional. */
export interface JobOptions {
  /** id makes the send idempotent: a second send with the same id is ignored (returns null). */
  id?: string
  startAfter?: Date
  retryLimit?: number // default from define() or 3
  retryDelaySeconds?: number // default 5
  retryBackoff?: boolean // exponential, default true
}

/** SendManyJob is one job of a sendMany; `trace` is the trace its run continues (default: the sender's active one). */
export interface SendManyJob<T = unknown> { data: T, options?: JobOptions, trace?: TraceCarrier | null }

/** DefineOptions are a job name's defaults: how many run at once on a node, and how failures are retried. */
export interface DefineOptions { concurrency?: number, retryLimit?: number, retryDelaySeconds?: number, retryBackoff?: boolean }

/** QueueStats are one job name's depths: waiting, running, waiting for a retry after a failure, and dead letters. */
export interface QueueStats {
  name: string
  queued: number
  active: number
  failed: number
  deadLetters: number
  /** oldestDueSeconds is how long the oldest due, untaken job has waited (for /metrics; absent where the backend cannot tell). */
  oldestDueSeconds?: number
}

/** DeadLetter is a job that failed on its last allowed attempt and waits for an operator. */
export interface DeadLetter { id: string, name: string, data: unknown, error: string | null, failedAt: string }

/** JobHandler runs one job; it must be idempotent by job id (delivery is at least once). */
export type JobHandler<T = unknown> = (job: Job<T>) => Promise<void>

/** JobQueue is the queue port: modules send and define jobs through it and never see the adapter. */
export interface JobQueue {
  readonly kind: 'pg-boss' | 'amqp'
  /** define registers a handler for a job name; call it while the app is built (in a module plugin). Handlers must be idempotent by job id. */
  define<T>(name: string, handler: (job: Job<T>) => Promise<void>, options?: DefineOptions): void
  /** send records a job; with `tx` (a Drizzle transaction, type Database from src/platform/db.ts) the job exists only if that transaction commits. */
  send<T>(name: string, data: T, options?: JobOptions, tx?: Database): Promise<string | null>
  /**
   * sendMany records several jobs of one name in one round trip, each as send() would (with `tx`,
   * they exist only if it commits). It gives the ids of the jobs it added: a job whose id was
   * already accepted is left out. Ids must differ within one call; at most 1,000 jobs a call.
   */
  sendMany<T>(name: string, jobs: Array<SendManyJob<T>>, tx?: Database): Promise<string[]>
  /** start runs the workers for every defined job (called on listen, or by tests). Idempotent. */
  start(): Promise<void>
  /** stop stops taking jobs and waits for running ones (bounded by SHUTDOWN_TIMEOUT_MS budget). */
  stop(): Promise<void>
  /** stats gives every known job name's depths (defined here, or seen by the adapter). */
  stats(): Promise<QueueStats[]>
  /** deadLetters lists a job name's dead letters, oldest first (limit 1–100, default 20). */
  deadLetters(name: string, limit?: number): Promise<DeadLetter[]>
  /** retryDeadLetter sends a dead letter back to its queue with fresh attempts; false when there is no such dead letter. */
  retryDeadLetter(name: string, id: string): Promise<boolean>
}

/** RetryPolicy is how one job is retried: `retryLimit` retries after the first attempt, then a dead letter. */
export interface RetryPolicy { retryLimit: number, retryDelaySeconds: number, retryBackoff: boolean }

/** JobDefinition is what define() recorded for one job name, every default filled in. */
export interface JobDefinition extends RetryPolicy { name: string, handler: JobHandler, concurrency: number }

/** OutgoingJob is a validated send, as an adapter stores it. */
export interface OutgoingJob {
  name: string
  id: string | undefined
  data: unknown
  policy: RetryPolicy
  startAfter: Date | undefined
  /** trace is the sender's trace context (null without tracing): the job's run continues that trace. */
  trace: TraceCarrier | null
}

/** QueueBackend is what an adapter implements; createJobQueue adds the definitions and defaults around it. */
export interface QueueBackend {
  readonly kind: JobQueue['kind']
  send: (job: OutgoingJob, tx?: Database) => Promise<string | null>
  /** sendMany stores jobs of one name in one statement; it gives the ids of those it added (a known id is skipped). */
  sendMany: (jobs: OutgoingJob[], tx?: Database) => Promise<string[]>
  /** start begins consuming for these definitions (called again with more when define() follows start()). */
  start: (definitions: JobDefinition[]) => Promise<void>
  stop: (timeoutMs: number) => Promise<void>
  /** stats covers the defined jobs and any other job name the backend knows of. */
  stats: (definitions: JobDefinition[]) => Promise<QueueStats[]>
  deadLetters: (name: string, limit: number) => Promise<DeadLetter[]>
  retryDeadLetter: (name: string, id: string) => Promise<boolean>
  /** check fails when the backend cannot take jobs (readiness). */
  check: () => Promise<void>
  close: () => Promise<void>
}

/**
 * runTraced runs a job's handler in a consumer span, child of the context the job was sent from
 * (a no-op call without tracing). Both adapters call it, so every job continues its sender's trace.
 */
export function runTraced (handler: JobHandler, job: Job, trace: TraceCarrier | null): Promise<void> {
  if (!tracing.enabled) return handler(job)
  return tracing.span(`job ${job.name}`, { parent: trace, kind: 'consumer', attributes: { 'messaging.operation.type': 'process', 'messaging.destination.name': job.name, 'messaging.message.id': job.id, 'backplane.job.attempt': job.attempt } }, () => handler(job))
}

/** QUEUE_DEFAULTS apply when neither the send nor define() says otherwise. */
export const QUEUE_DEFAULTS: Readonly<RetryPolicy> & { maxRetryDelaySeconds: number } = Object.freeze({
  retryLimit: 3,
  retryDelaySeconds: 5,
  retryBackoff: true,
  // Exponential back-off stops growing at an hour: later retries wait the same.
  maxRetryDelaySeconds: 3600
})

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/
// Derived queues (dead letters, retry delays) end in these: a job name may not, so they never collide.
const RESERVED = /\.(dead|retry)(\.|$)/

/** assertJobName refuses names the adapters cannot map to queues (1–100 of letters, digits, `_ . -`). */
export function assertJobName (name: string): void {
  if (!NAME.test(name) || RESERVED.test(name)) {
    throw new Error(`job name "${name}" must be 1-100 letters, digits, '_', '.' or '-', starting with a letter or digit, and not contain '.dead' or '.retry'`)
  }
}

/** isJobName tells whether a name is one a job may have (for request validation). */
export function isJobName (name: string): boolean {
  return NAME.test(name) && !RESERVED.test(name)
}

// A fixed namespace: the same (name, key) gives the same job id on every node and in every release.
const ID_NAMESPACE = '4f3c2d8e-5b1a-4e0f-9c6d-7a2b1e3f4d5c'

/** jobIdFor keeps a UUID id as given and maps any other key to a stable UUID v5 of (name, key); both adapters store UUIDs. */
export function jobIdFor (name: string, key: string): string {
  return isUuid(key) ? key.toLowerCase() : uuidV5(`${name}\n${key}`, ID_NAMESPACE)
}

/** retryDelaySeconds is how long to wait after failed attempt `attempt` (1-based): fixed, or doubling from the base. */
export function retryDelaySeconds (policy: RetryPolicy, attempt: number): number {
  if (!policy.retryBackoff) return policy.retryDelaySeconds
  // Like pg-boss, back-off starts from at least one second.
  const base = Math.max(1, policy.retryDelaySeconds)
  const delay = base * 2 ** Math.min(Math.max(0, attempt - 1), 20)
  return Math.max(base, Math.min(delay, QUEUE_DEFAULTS.maxRetryDelaySeconds))
}

/** checkCount refuses a count outside [min, max] (a send's or a definition's option). */
export function checkCount (value: number | undefined, what: string, min: number, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
    throw new Error(`${what} must be a whole number from ${min} to ${max}`)
  }
}

/** checkPolicy refuses retry options outside their bounds. */
export function checkPolicy (options: { retryLimit?: number, retryDelaySeconds?: number }): void {
  checkCount(options.retryLimit, 'retryLimit', 0, 100)
  checkCount(options.retryDelaySeconds, 'retryDelaySeconds', 0, 86_400)
}

/** errorMessage is what a failed attempt records: the error's message, bounded. */
export function errorMessage (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.slice(0, 2000)
}
