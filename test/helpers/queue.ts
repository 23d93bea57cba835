import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { requireServices } from './services.ts'

/** amqpUrl is the RabbitMQ the services lane uses. */
export const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

/** canConnectAmqp tells whether RabbitMQ answers at the URL within a couple of seconds. */
export async function canConnectAmqp (url: string = amqpUrl): Promise<boolean> {
  const { connect } = await import('amqplib')
  try {
    const conn = await connect(url, { timeout: 2000 })
    await conn.close()
    return true
  } catch {
    return false
  }
}

/**
 * amqpAvailable is whether the AMQP tests run: only with AMQP_URL set (the services lane), and
 * there a broker that does not answer is a failure, not a skip.
 */
export async function amqpAvailable (): Promise<boolean> {
  if (!process.env.AMQP_URL) return false
  const ok = await canConnectAmqp()
  if (!ok && requireServices) throw new Error('RabbitMQ does not answer at AMQP_URL (BACKPLANE_REQUIRE_SERVICES=1)')
  return ok
}

/** jobPrefix makes job names no other test file (or run) uses: queues on a shared broker never collide. */
export function jobPrefix (): string {
  return `t${randomBytes(4).toString('hex')}`
}

// Every delay queue the tests' policies can make (1 s and 5 s bases, up to 5 retries, doubling).
const DELAYS = [...new Set([1, 5].flatMap((base) => [0, 1, 2, 3, 4].map((k) => base * 2 ** k * 1000)))]

/** deleteBrokerQueues removes a test's job queues, their dead-letter and delay queues from RabbitMQ. */
export async function deleteBrokerQueues (names: Iterable<string>, url: string = amqpUrl): Promise<void> {
  const { connect } = await import('amqplib')
  const conn = await connect(url)
  try {
    const ch = await conn.createChannel()
    for (const name of names) {
      for (const queue of [name, `${name}.dead`, ...DELAYS.map((ms) => `${name}.retry.${ms}`)]) await ch.deleteQueue(queue)
    }
  } finally {
    await conn.close()
  }
}

/** waitFor polls until the check passes, or fails with what it last saw. */
export async function waitFor<T> (check: () => Promise<T> | T, ok: (value: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  let last = await check()
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms; last value: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    last = await check()
  }
  return last
}

/** createEffects makes the table an idempotent test handler writes its effect to, one row per job id. */
export async function createEffects (pool: pg.Pool): Promise<void> {
  await pool.query('CREATE TABLE IF NOT EXISTS queue_test_effects (job_id text PRIMARY KEY, name text NOT NULL, data jsonb, deliveries int NOT NULL DEFAULT 1)')
}

/**
 * applyEffect is what an idempotent handler does: the effect is written once per job id (a
 * redelivery only counts itself in `deliveries`). Returns true when this delivery applied it.
 */
export async function applyEffect (pool: pg.Pool, job: { id: string, name: string, data: unknown }): Promise<boolean> {
  const { rows } = await pool.query<{ first: boolean }>(
    `INSERT INTO queue_test_effects (job_id, name, data) VALUES ($1, $2, $3::jsonb)
      ON CONFLICT (job_id) DO UPDATE SET deliveries = queue_test_effects.deliveries + 1
      RETURNING (xmax = 0) AS first`, [job.id, job.name, JSON.stringify(job.data)])
  return rows[0]?.first === true
}

/** effects reads what the handlers of one job name did. */
export async function effects (pool: pg.Pool, name: string): Promise<Array<{ jobId: string, data: unknown, deliveries: number }>> {
  const { rows } = await pool.query<{ job_id: string, data: unknown, deliveries: number }>(
    'SELECT job_id, data, deliveries FROM queue_test_effects WHERE name = $1 ORDER BY job_id', [name])
  return rows.map((r) => ({ jobId: r.job_id, data: r.data, deliveries: r.deliveries }))
}
