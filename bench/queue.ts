// `node bench/queue.ts`: job throughput per queue adapter (jobs/s): pg-boss on the embedded
// PostgreSQL, and RabbitMQ (amqplib) too when AMQP_URL is set. Run `node bench/queue.ts --help`.
import '../src/platform/module-hooks.ts'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { startEmbeddedPostgres } from '../src/platform/adapters/embedded-postgres.ts'
import { runMigrations } from '../src/platform/migrate.ts'
import { intOption, machine, median, sourceState, table, writeResult } from './lib/report.ts'

const USAGE = `Usage: node bench/queue.ts [options]
  --jobs <n>          jobs per round                            (BENCH_JOBS, default 2000)
  --rounds <n>        rounds per adapter; the table shows medians (BENCH_ROUNDS, default 3)
  --concurrency <n>   jobs one node runs at once (QUEUE_CONCURRENCY) (BENCH_CONCURRENCY, default 8)
  --senders <n>       sends in flight at once                   (BENCH_SENDERS, default 16)
  --help
RabbitMQ is measured too when AMQP_URL is set (e.g. amqp://guest:guest@127.0.0.1:5672).`

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    senders: { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
const options = {
  jobs: intOption('--jobs', flags.jobs ?? process.env.BENCH_JOBS, 2000),
  rounds: intOption('--rounds', flags.rounds ?? process.env.BENCH_ROUNDS, 3),
  concurrency: intOption('--concurrency', flags.concurrency ?? process.env.BENCH_CONCURRENCY, 8),
  senders: intOption('--senders', flags.senders ?? process.env.BENCH_SENDERS, 16)
}

/** Round is one measurement: accept N jobs with no worker running, then drain them; and send N while workers run. */
interface Round { sendPerSec: number, drainPerSec: number, endToEndPerSec: number }

async function sendAll (send: (i: number) => Promise<unknown>, count: number): Promise<number> {
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: options.senders }, async () => {
    while (next < count) await send(next++)
  }))
  return performance.now() - started
}

async function waitUntil (check: () => boolean, limitMs = 300_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('jobs were not all handled in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function measure (databaseUrl: string, amqpUrl: string | undefined, names: string[]): Promise<Round> {
  const env: Record<string, string> = { BACKPLANE_ENV: 'test', LOG_LEVEL: 'warn', QUEUE_CONCURRENCY: String(options.concurrency), DATABASE_POOL_MAX: '20' }
  if (amqpUrl) env.AMQP_URL = amqpUrl
  const app = await buildApp(loadConfig(env, { filesOff: true }), { databaseUrl })
  await app.ready()
  try {
    const prefix = `bench${randomBytes(3).toString('hex')}`
    const drain = `${prefix}.drain`
    const flow = `${prefix}.flow`
    names.push(drain, flow)
    let drained = 0
    let flowed = 0
    // The handler does nothing: the figures are the queue's own cost per job.
    app.queue.define(drain, async () => { drained++ })
    app.queue.define(flow, async () => { flowed++ })

    // 1. Accepting jobs while no worker runs (the record that a job exists).
    const sendMs = await sendAll((i) => app.queue.send(drain, { i }), options.jobs)
    // 2. Draining that backlog.
    const drainStart = performance.now()
    await app.queue.start()
    await waitUntil(() => drained === options.jobs)
    const drainMs = performance.now() - drainStart
    // 3. Sending while the workers run, until the last one is handled.
    const flowStart = performance.now()
    await sendAll((i) => app.queue.send(flow, { i }), options.jobs)
    await waitUntil(() => flowed === options.jobs)
    const flowMs = performance.now() - flowStart
    const perSec = (ms: number) => Math.round(options.jobs / (ms / 1000))
    return { sendPerSec: perSec(sendMs), drainPerSec: perSec(drainMs), endToEndPerSec: perSec(flowMs) }
  } finally {
    await app.close()
  }
}

async function deleteBrokerQueues (url: string, names: string[]): Promise<void> {
  const { connect } = await import('amqplib')
  const conn = await connect(url)
  const ch = await conn.createChannel()
  for (const name of names) {
    for (const queue of [name, `${name}.dead`, `${name}.retry.5000`, `${name}.retry.10000`, `${name}.retry.20000`]) await ch.deleteQueue(queue)
  }
  await conn.close()
}

const dataDir = await mkdtemp(join(tmpdir(), 'backplane-bench-queue-'))
const embedded = await startEmbeddedPostgres(dataDir, pino({ level: 'warn' }))
const load = loadavg()[0]!
process.stdout.write(`Queue throughput: ${options.jobs} jobs/round, ${options.rounds} rounds, concurrency ${options.concurrency}, ${options.senders} senders, load average ${load.toFixed(2)}\n`)
if (load > 1) process.stdout.write('WARNING: the machine was busy before the run (load average > 1): figures are unreliable\n')
const adapters: Array<{ name: string, amqpUrl?: string }> = [{ name: 'pg-boss (embedded PostgreSQL 18)' }]
if (process.env.AMQP_URL) adapters.push({ name: 'RabbitMQ (amqplib; outbox on embedded PostgreSQL)', amqpUrl: process.env.AMQP_URL })
else process.stdout.write('AMQP_URL is not set: RabbitMQ is not measured\n')

const results: Array<{ adapter: string, rounds: Round[] }> = []
try {
  for (const adapter of adapters) {
    const rounds: Round[] = []
    const names: string[] = []
    for (let r = 0; r < options.rounds; r++) {
      await runMigrations(embedded.url)
      rounds.push(await measure(embedded.url, adapter.amqpUrl, names))
      process.stdout.write(`  ${adapter.name} round ${r + 1}: ${JSON.stringify(rounds.at(-1))}\n`)
    }
    if (adapter.amqpUrl) await deleteBrokerQueues(adapter.amqpUrl, names)
    results.push({ adapter: adapter.name, rounds })
  }
} finally {
  await embedded.stop()
  await rm(dataDir, { recursive: true, force: true })
}

const med = (rounds: Round[], key: keyof Round) => Math.round(median(rounds.map((r) => r[key])))
process.stdout.write('\n' + table(
  ['adapter', 'accept jobs/s', 'drain jobs/s', 'send+run jobs/s'],
  results.map(({ adapter, rounds }) => [adapter, med(rounds, 'sendPerSec'), med(rounds, 'drainPerSec'), med(rounds, 'endToEndPerSec')])
) + '\n')
const file = await writeResult('queue', { options, loadAverage: load, machine: machine(), source: sourceState(), results })
process.stdout.write(`\nResults: ${file}\n`)
