// `npm run soak` (SECURITY.md RL-10, fault run R-SOAK): a Backplane process under a steady mix of HTTP
// requests and WebSocket churn for --minutes (default 10). It samples the server's RSS and open file
// descriptors every few seconds and passes when, after the warm-up, RSS grew < 10 %, the descriptor
// count stayed flat, and no request got a 5xx. A benchmark script, not part of `npm test`.
// Run `node bench/soak.ts --help` for the options; bench/README.md explains the figures.
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { backplaneEnv, startNodeFlags } from './lib/backplane-env.ts'
import { mb, statusKb } from './lib/proc.ts'
import { intOption, machine, median, sourceState, writeResult } from './lib/report.ts'
import { serverScript, startServer } from './lib/servers.ts'
import { openBenchSession } from './lib/session.ts'
import { httpLoad, newCounts, signInAccount, wsChurn } from './lib/soak-load.ts'

const USAGE = `Usage: node bench/soak.ts [options]   (npm run soak -- [options])
  --minutes <n>        length of the run                      (SOAK_MINUTES, default 10)
  --warmup <s>         seconds before the RSS reference        (SOAK_WARMUP, default 60, or a fifth of a shorter run)
  --rps <n>            HTTP requests a second                 (SOAK_RPS, default 30)
  --ws-per-second <n>  WebSockets opened a second, each held 1–5 s (SOAK_WS_PER_SECOND, default 2)
  --help
Exit code 1 when RSS grew 10 % or more after the warm-up, descriptors drifted, or any request got a 5xx.`

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string' },
    warmup: { type: 'string' },
    rps: { type: 'string' },
    'ws-per-second': { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}

const env = process.env
const minutes = intOption('--minutes', flags.minutes ?? env.SOAK_MINUTES, 10)
const options = {
  minutes,
  warmupS: intOption('--warmup', flags.warmup ?? env.SOAK_WARMUP, Math.min(60, Math.round(minutes * 12)), 0),
  rps: intOption('--rps', flags.rps ?? env.SOAK_RPS, 30),
  wsPerSecond: intOption('--ws-per-second', flags['ws-per-second'] ?? env.SOAK_WS_PER_SECOND, 2)
}
const SAMPLE_MS = 5_000
// RSS and descriptors are compared as medians of a window, so one garbage-collection peak decides nothing.
const WINDOW_SAMPLES = 6
const RSS_GROWTH_LIMIT = 0.10
// Descriptors may differ by what is in flight at the moment of sampling (requests, sockets held) and
// by the database pool, which grows to DATABASE_POOL_MAX (10) under load and shrinks when idle.
const FD_DRIFT_LIMIT = 20
// The client keeps its HTTP connections alive; a slow moment makes it open more, which the server
// closes once idle this long. The soak's server uses a short keep-alive so that, once the load
// stops, the idle descriptor count shows what the server itself holds.
const KEEP_ALIVE_MS = 5_000

interface Sample { atS: number, rssMb: number, fds: number }

async function sample (pid: number, startedAt: number): Promise<Sample> {
  return { atS: Math.round((Date.now() - startedAt) / 1000), rssMb: mb((await statusKb(pid, 'VmRSS')) ?? 0), fds: (await readdir(`/proc/${pid}/fd`)).length }
}

async function main (): Promise<number> {
  const { database, logDir, servers, cleanup } = await openBenchSession()
  try {
    process.stdout.write(`Database: ${database.describe}\nSoak: ${options.minutes} min, ${options.rps} requests/s, ${options.wsPerSecond} WebSockets/s, warm-up ${options.warmupS} s\n`)
    const server = await startServer('backplane', serverScript('./backplane-server.ts'), {
      execArgv: startNodeFlags(),
      env: backplaneEnv(database, logDir, 'production', {
        // One account stands for many users: its budgets are not under test here.
        RATE_LIMIT_USER_PER_MINUTE: '1000000',
        RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
        AUTH_ACCESS_TTL_SECONDS: '86400',
        // Rotated files are kept only as the default count; the soak must not fill the disk.
        LOG_FILE_COUNT: '5',
        KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS)
      })
    })
    servers.push(server)
    const counts = newCounts()
    const me = await signInAccount(server.url, counts, `soak-${randomBytes(4).toString('hex')}@example.test`, `${randomBytes(18).toString('base64url')}-Aa1!`)
    const wsUrl = `${server.url.replace('http', 'ws')}/api/v1/realtime`

    const startedAt = Date.now()
    const until = startedAt + options.minutes * 60_000
    const samples: Sample[] = []
    const sampler = (async () => {
      while (Date.now() < until) {
        samples.push(await sample(server.pid, startedAt))
        const last = samples[samples.length - 1]
        process.stdout.write(`  ${last?.atS ?? 0}s rss ${last?.rssMb ?? 0} MB, fds ${last?.fds ?? 0}, requests ${counts.requests}, 5xx ${counts.fiveXx.length}, ws ${counts.wsOpened}\n`)
        await sleep(SAMPLE_MS)
      }
    })()
    await Promise.all([httpLoad(server.url, counts, me, options.rps, until), wsChurn(wsUrl, counts, me, options.wsPerSecond, until), sampler])
    // Everything finished: one last sample once the idle keep-alive connections were closed.
    await sleep(KEEP_ALIVE_MS + 3_000)
    const idle = await sample(server.pid, startedAt)

    const afterWarmup = samples.filter((s) => s.atS >= options.warmupS)
    const first = afterWarmup.slice(0, WINDOW_SAMPLES)
    const last = afterWarmup.slice(-WINDOW_SAMPLES)
    const rss = { afterWarmupMb: median(first.map((s) => s.rssMb)), endMb: median(last.map((s) => s.rssMb)), maxMb: Math.max(...samples.map((s) => s.rssMb)) }
    const fds = { afterWarmup: median(first.map((s) => s.fds)), end: median(last.map((s) => s.fds)), max: Math.max(...samples.map((s) => s.fds)), idle: idle.fds }
    const rssGrowth = rss.afterWarmupMb > 0 ? (rss.endMb - rss.afterWarmupMb) / rss.afterWarmupMb : 0
    const checks = {
      rssGrowthBelow10Percent: afterWarmup.length >= 2 * WINDOW_SAMPLES && rssGrowth < RSS_GROWTH_LIMIT,
      descriptorsStable: fds.idle <= fds.afterWarmup + FD_DRIFT_LIMIT,
      no5xx: counts.fiveXx.length === 0 && counts.errors === 0
    }
    const result = {
      options,
      machine: machine(),
      source: sourceState(),
      loadavg: loadavg(),
      rss: { ...rss, growthPercent: Number((rssGrowth * 100).toFixed(1)) },
      descriptors: fds,
      http: { requests: counts.requests, byClass: counts.byClass, noAnswer: counts.errors, fiveXx: counts.fiveXx, refused: counts.refused },
      websockets: { opened: counts.wsOpened, failed: counts.wsFailed, closedByServer: counts.wsClosedByServer, events: counts.wsEvents },
      checks,
      samples
    }
    const file = await writeResult('soak', result)
    const { samples: _samples, ...summary } = result
    process.stdout.write(`\n${JSON.stringify(summary, null, 2)}\nResults: ${file}\n`)
    if (afterWarmup.length < 2 * WINDOW_SAMPLES) process.stdout.write(`The run is too short to judge RSS growth: it needs ${2 * WINDOW_SAMPLES * SAMPLE_MS / 1000} s after the warm-up.\n`)
    return Object.values(checks).every(Boolean) ? 0 : 1
  } finally {
    await cleanup()
  }
}

process.exitCode = await main()
