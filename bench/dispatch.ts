// `node bench/dispatch.ts`: how long three Backplane nodes take to dispatch 1,000 (--tasks) tasks due
// at the same instant (scheduler → job queue → one execution per task), on pg-boss and, with
// AMQP_URL set, on RabbitMQ. Needs a PostgreSQL server shared by the nodes: DATABASE_URL, or a
// throwaway database on the local server (BENCH_PG_ADMIN_URL). Run `node bench/dispatch.ts --help`.
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { spawnBackplane, type BackplaneProcess } from '../test/helpers/process.ts'
import { chooseDatabase } from './lib/database.ts'
import { settingsFreeEnv } from './lib/proc.ts'
import { intOption, machine, median, sourceState, table, writeResult } from './lib/report.ts'

const USAGE = `Usage: node bench/dispatch.ts [options]
  --tasks <n>    tasks due at the same instant     (BENCH_TASKS, default 1000)
  --nodes <n>    Backplane processes               (BENCH_NODES, default 3)
  --rounds <n>   rounds per adapter (medians shown) (BENCH_ROUNDS, default 3)
RabbitMQ is measured too when AMQP_URL is set; REDIS_URL is passed on when set.`

const { values: flags } = parseArgs({ options: { tasks: { type: 'string' }, nodes: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', default: false } } })
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
const options = {
  tasks: intOption('--tasks', flags.tasks ?? process.env.BENCH_TASKS, 1000),
  nodes: intOption('--nodes', flags.nodes ?? process.env.BENCH_NODES, 3),
  rounds: intOption('--rounds', flags.rounds ?? process.env.BENCH_ROUNDS, 3)
}
const LEAD_MS = 3000

interface Round {
  adapter: string
  allMs: number
  p50Ms: number
  executions: number
  duplicates: number
  /** when half / all of the round's `tasks.fire` jobs were committed by the claims (the scheduler's part), ms after the slot */
  claimedP50Ms: number | null
  claimedAllMs: number | null
}

// The round's `tasks.fire` jobs the claims have committed so far: pg-boss rows, or RabbitMQ outbox rows.
const SENT_SQL = {
  'pg-boss': "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'tasks.fire' AND data->'task'->>'projectId' = $1",
  amqp: "SELECT count(*)::int AS n FROM queue_outbox WHERE name = 'tasks.fire' AND data->'task'->>'projectId' = $1"
}

async function round (adapter: 'pg-boss' | 'amqp', client: pg.Client): Promise<Round> {
  const { rows: [project] } = await client.query<{ id: string }>(`
    INSERT INTO projects (id, name, owner_id) SELECT gen_random_uuid(), 'bench', id FROM users LIMIT 1 RETURNING id`)
  const due = new Date(Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000)
  // 1,000 tasks whose next slot is the same instant. Their schedule's following slot is months
  // away: a round that outlasts a minute must not fire the next minute's slot, so any second
  // execution of a task is a double fire (the duplicates column).
  await client.query(`
    INSERT INTO tasks (id, project_id, name, schedule, next_run_at)
    SELECT gen_random_uuid(), $1, 'bench ' || n, '0 0 1 1 *', $2 FROM generate_series(1, $3) AS n`, [project!.id, due, options.tasks])
  const deadline = Date.now() + LEAD_MS + 60_000 + options.tasks * 10
  let done = 0
  // The scheduler's part: polled, so each figure is late by up to one poll (~100 ms plus the query).
  let claimedP50Ms: number | null = null
  let claimedAllMs: number | null = null
  let lastNote = 0
  while (Date.now() < deadline) {
    const { rows: [c] } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM executions WHERE project_id = $1', [project!.id])
    done = c!.n
    if (claimedAllMs === null) {
      const { rows: [j] } = await client.query<{ n: number }>(SENT_SQL[adapter], [project!.id])
      const at = Date.now() - due.getTime()
      if (claimedP50Ms === null && j!.n >= options.tasks / 2) claimedP50Ms = at
      if (j!.n >= options.tasks) claimedAllMs = at
    }
    if (done >= options.tasks) break
    if (Date.now() - due.getTime() > lastNote + 5000) {
      lastNote = Date.now() - due.getTime()
      process.stderr.write(`${adapter}: ${done} executions ${lastNote} ms after the slot\n`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const { rows: [t] } = await client.query<{ all_ms: number, p50_ms: number, n: number, distinct: number }>(`
    SELECT extract(epoch FROM max(created_at) - $2::timestamptz) * 1000 AS all_ms,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - $2::timestamptz) * 1000) AS p50_ms,
           count(*)::int AS n, count(DISTINCT task_id)::int AS distinct
    FROM executions WHERE project_id = $1`, [project!.id, due])
  const result: Round = { adapter, allMs: Math.round(t!.all_ms), p50Ms: Math.round(t!.p50_ms), executions: t!.n, duplicates: t!.n - t!.distinct, claimedP50Ms, claimedAllMs }
  process.stderr.write(`${JSON.stringify(result)}\n`)
  // The nodes may still be touching the round's tasks (their executions, the sweep, a round that
  // missed its deadline): the cascade can deadlock with them, which PostgreSQL resolves by rolling
  // one side back; stop the tasks firing and try again.
  await client.query('UPDATE tasks SET enabled = false WHERE project_id = $1', [project!.id])
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query('DELETE FROM projects WHERE id = $1', [project!.id])
      break
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= 20) throw err
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt))
    }
  }
  return result
}

async function measure (adapter: 'pg-boss' | 'amqp'): Promise<Round[]> {
  const database = await chooseDatabase()
  if (database.mode === 'embedded') throw new Error('several nodes need one PostgreSQL server: set DATABASE_URL or let the bench reach BENCH_PG_ADMIN_URL')
  const settings: Record<string, string> = {
    ...database.settings,
    BACKPLANE_SECRET: randomBytes(36).toString('base64url'),
    LOG_LEVEL: 'warn',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...(adapter === 'amqp' ? { AMQP_URL: process.env.AMQP_URL! } : {})
  }
  const env = settingsFreeEnv(settings) as Record<string, string>
  const nodes: BackplaneProcess[] = []
  try {
    // The first node migrates; the others join it.
    nodes.push(await spawnBackplane(env, undefined, 60_000))
    nodes.push(...await Promise.all(Array.from({ length: options.nodes - 1 }, async () => spawnBackplane(env, undefined, 60_000))))
    const client = new pg.Client({ connectionString: database.settings.DATABASE_URL })
    await client.connect()
    try {
      await client.query(`INSERT INTO users (id, email) VALUES (gen_random_uuid(), 'bench-${Date.now()}@example.test')`)
      const rounds: Round[] = []
      for (let i = 0; i < options.rounds; i++) rounds.push(await round(adapter, client))
      return rounds
    } finally {
      await client.end()
    }
  } finally {
    for (const n of nodes) n.child.kill('SIGTERM')
    await Promise.all(nodes.map(async (n) => n.exited))
    await database.cleanup()
  }
}

const load = loadavg()[0]!
const adapters: Array<'pg-boss' | 'amqp'> = ['pg-boss', ...(process.env.AMQP_URL ? ['amqp' as const] : [])]
const results: Record<string, Round[]> = {}
for (const adapter of adapters) results[adapter] = await measure(adapter)
const rows = adapters.map((a) => {
  const r = results[a]!
  const claimed = (pick: (x: Round) => number | null) => {
    const values = r.map(pick)
    return values.every((v) => v !== null) ? median(values as number[]) : '-'
  }
  return [a, options.nodes, options.tasks, claimed((x) => x.claimedP50Ms), claimed((x) => x.claimedAllMs), median(r.map((x) => x.p50Ms)), median(r.map((x) => x.allMs)), Math.min(...r.map((x) => x.executions)), Math.max(...r.map((x) => x.duplicates))]
})
process.stdout.write(`\n${options.tasks} tasks due at one instant, ${options.nodes} nodes, ${options.rounds} round(s) per adapter (load average before: ${load.toFixed(2)})\n`)
process.stdout.write(table(['queue', 'nodes', 'tasks', 'p50 claimed (ms)', 'all claimed (ms)', 'p50 dispatched (ms)', 'all dispatched (ms)', 'executions (min)', 'duplicates (max)'], rows) + '\n')
process.stdout.write('Target (issue 13, 10,000 tasks): all dispatched within 10,000 ms of the slot on RabbitMQ, 15,000 ms on pg-boss, 0 duplicates.\n')
const file = await writeResult('dispatch', { machine: machine(), source: sourceState(), options, results })
process.stdout.write(`written to ${file}\n`)
