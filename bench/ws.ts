// `npm run bench:ws`: Backplane's realtime WebSocket against a bare `ws` server: memory of N idle
// authenticated sockets, then the latency of one event broadcast to S subscribers, on one node and
// across two nodes through Redis. Run `node bench/ws.ts --help` for the options; bench/README.md explains the figures.
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { backplaneEnv, startNodeFlags } from './lib/backplane-env.ts'
import { intOption, machine, resultsDir, sourceState, table, writeResult } from './lib/report.ts'
import { serverScript } from './lib/servers.ts'
import { openBenchSession } from './lib/session.ts'
import { broadcastRounds, connectAll, serversMemory, startClients, subscribeSome, summariseRounds, SOCKETS_PER_USER, type Client, type Round, type Target } from './lib/ws-fleet.ts'
import { forkRpc, type RpcChild } from './lib/ws-rpc.ts'

const USAGE = `Usage: node bench/ws.ts [options]   (npm run bench:ws -- [options])
  --sockets <n>       idle authenticated sockets held          (BENCH_WS_SOCKETS, default 10000)
  --subscribers <n>   subscribers of the broadcast             (BENCH_WS_SUBSCRIBERS, default 10000)
  --rounds <n>        measured broadcasts per setup            (BENCH_WS_ROUNDS, default 10; medians reported)
  --warmup <n>        unmeasured broadcasts first              (BENCH_WS_WARMUP, default 2)
  --per-server <n>    sockets per server process (one process may hold 20,000 open files)
                                                               (BENCH_WS_PER_SERVER, default 18000)
  --per-client <n>    sockets per client process               (BENCH_WS_PER_CLIENT, default 5000)
  --addresses <n>     loopback source addresses 127.0.0.2…     (BENCH_WS_ADDRESSES, default: one per 25,000
                      sockets held at once, at least 4: every setup keeps its sockets open until the
                      broadcasts, and one address has ~28,000 source ports)
  --workers <n>       also run Backplane as \`start --workers n\` (one primary, n worker processes on one
                      port; --per-server then counts per worker)   (BENCH_WS_WORKERS, default off)
  --skip-redis        skip the two-node run through Redis (REDIS_URL, default redis://127.0.0.1:6379)
  --cpu-prof          V8 CPU profile of the broadcasting Backplane node under bench/results/cpu-<date>/
  --help`

const { values: flags } = parseArgs({
  options: {
    sockets: { type: 'string' },
    subscribers: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    'per-server': { type: 'string' },
    'per-client': { type: 'string' },
    addresses: { type: 'string' },
    workers: { type: 'string' },
    'skip-redis': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}

const env = process.env
// Socket counts are rounded down to whole users (20 sockets each) so that no token is shared across processes.
const whole = (n: number) => Math.max(SOCKETS_PER_USER, n - (n % SOCKETS_PER_USER))
const options = {
  sockets: whole(intOption('--sockets', flags.sockets ?? env.BENCH_WS_SOCKETS, 10_000)),
  subscribers: intOption('--subscribers', flags.subscribers ?? env.BENCH_WS_SUBSCRIBERS, 10_000),
  rounds: intOption('--rounds', flags.rounds ?? env.BENCH_WS_ROUNDS, 10),
  warmup: intOption('--warmup', flags.warmup ?? env.BENCH_WS_WARMUP, 2, 0),
  perServer: whole(intOption('--per-server', flags['per-server'] ?? env.BENCH_WS_PER_SERVER, 18_000)),
  perClient: whole(intOption('--per-client', flags['per-client'] ?? env.BENCH_WS_PER_CLIENT, 5000)),
  addresses: intOption('--addresses', flags.addresses ?? env.BENCH_WS_ADDRESSES, 0, 0),
  workers: flags.workers ?? env.BENCH_WS_WORKERS ? intOption('--workers', flags.workers ?? env.BENCH_WS_WORKERS, 2) : 0,
  redisUrl: flags['skip-redis'] ? undefined : (env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
  cpuProf: flags['cpu-prof']
}
if (options.subscribers > Math.min(options.sockets, options.perServer)) throw new Error('--subscribers must fit on one server process: at most --sockets and --per-server')
// Every setup (bare, one node, workers, two nodes) holds its sockets until the broadcasts: with 50,000 a
// setup, four addresses ran out of source ports in the workers setup (EADDRINUSE on 22,731 sockets).
const setupsHeld = 2 + (options.workers > 0 ? 1 : 0) + (options.redisUrl ? 1 : 0)
const addressCount = options.addresses > 0 ? options.addresses : Math.max(4, Math.ceil(options.sockets * setupsHeld / 25_000))
const addresses = Array.from({ length: addressCount }, (_, i) => `127.0.0.${2 + i}`)
const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')
const say = (text: string) => { process.stdout.write(text + '\n') }

/** split shares the sockets among server processes of at most `capacity` each, the first one fullest. */
function split (total: number, capacity = options.perServer): number[] {
  const out: number[] = []
  for (let left = total; left > 0; left -= capacity) out.push(Math.min(capacity, left))
  return out
}

type StartServer = (index: number) => Promise<RpcChild>

/** Setup is one server kind with its sockets open and its subscribers subscribed, ready to broadcast. */
interface Setup {
  name: string
  publisher: RpcChild
  subscribers: Awaited<ReturnType<typeof subscribeSome>>
  sockets: Awaited<ReturnType<typeof connectAll>>
  memory: { empty: Awaited<ReturnType<typeof serversMemory>>, full: Awaited<ReturnType<typeof serversMemory>>, perSocketKb: number }
  rounds: Round[]
  close: () => Promise<void>
}

/**
 * openSetup starts one server kind: its processes, measured empty; every socket connected; measured
 * again; then S sockets of the first process subscribed. Whatever it started is stopped if it fails.
 */
async function openSetup (name: string, startOne: StartServer, tokens: string[], projectId: string, publisherOf?: (servers: RpcChild[]) => RpcChild, capacity = options.perServer): Promise<Setup> {
  const servers: RpcChild[] = []
  let clients: Client[] = []
  const close = async () => {
    await Promise.all(clients.map((c) => c.child.stop()))
    await Promise.all(servers.map((s) => s.stop()))
  }
  try {
    const shares = split(options.sockets, capacity)
    for (let i = 0; i < shares.length; i++) servers.push(await startOne(i))
    const empty = await serversMemory(servers)
    const targets: Target[] = servers.map((server, i) => ({ server, url: String(server.ready.url), sockets: shares[i]! }))
    clients = await startClients(targets, options.perClient, env)
    const sockets = await connectAll(clients, tokens, addresses)
    say(`${name}: ${sockets.opened} sockets open in ${(sockets.ms / 1000).toFixed(1)} s on ${servers.length} server process(es), ${clients.length} client process(es)`)
    if (sockets.failed > 0) throw new Error(`${name}: ${sockets.failed} sockets could not open: ${JSON.stringify(sockets.errors)}`)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const full = await serversMemory(servers)
    // Diagnosis: BENCH_WS_HEAP_DIR=<dir> writes a heap snapshot of each Backplane node with every socket open.
    if (process.env.BENCH_WS_HEAP_DIR) {
      for (const [i, server] of servers.entries()) {
        const file = `${process.env.BENCH_WS_HEAP_DIR}/${name.replace(/\W+/g, '-')}-${i}.heapsnapshot`
        await server.call('heapSnapshot', { file }).then(() => { say(`${name}: heap snapshot ${file}`) }, () => {})
      }
    }
    const subscribers = await subscribeSome(clients, targets[0]!, options.subscribers, `project:${projectId}`)
    const perSocketKb = Math.round((full.rssMb - empty.rssMb) * 1024 / sockets.opened * 10) / 10
    // Said at once, not only in the final table: a long run that fails later still reports its memory.
    say(`${name}: RSS ${full.rssMb} MB with every socket open (${empty.rssMb} MB empty) in ${full.processes} processes, ${perSocketKb} KB/socket`)
    return { name, publisher: (publisherOf ?? ((s) => s[0]!))(servers), subscribers, sockets, memory: { empty, full, perSocketKb }, rounds: [], close }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * alternate broadcasts round by round on each setup in turn (bare, backplane, two nodes, bare…),
 * so that whatever else loads the machine weighs on every setup alike.
 */
async function alternate (setups: Setup[], projectId: string): Promise<void> {
  for (let i = 0; i < options.warmup + options.rounds; i++) {
    for (const setup of setups) {
      const [round] = await broadcastRounds(setup.publisher, setup.subscribers, projectId, 0, 1, i)
      if (i >= options.warmup) setup.rounds.push(round!)
    }
  }
}

/** stored is what the JSON result keeps of a setup. */
function stored (setup: Setup & { summary: ReturnType<typeof summariseRounds> }) {
  return { sockets: setup.sockets, memory: setup.memory, summary: setup.summary, rounds: setup.rounds }
}

async function main (): Promise<void> {
  const { database, logDir, cleanup } = await openBenchSession()
  const load = { before: loadavg()[0] ?? 0, after: 0 }
  try {
    say(`Database: ${database.describe}`)
    // Every node shares one secret (as a cluster must: it unlocks the signing keys in the database).
    // The setups share one database, hence one outbox, but not one pub/sub: a relay pass of one setup
    // that ran between another setup's commit and its relayOnce published that event to the wrong
    // processes, and its subscribers never got it (the "0 of 500" of the first --workers run). The
    // timed relay loops therefore pass once a minute (the maximum): each broadcast is relayed by its publisher.
    const settings = { BACKPLANE_SECRET: randomBytes(36).toString('base64url'), RATE_LIMIT_USER_PER_MINUTE: '1000000', AUTH_ACCESS_TTL_SECONDS: '86400', EVENTS_RELAY_INTERVAL_MS: '60000' }
    const backplane = (label: string, extra: Record<string, string> = {}, prof = false) => forkRpc(label, serverScript('./ws-backplane-server.ts'),
      backplaneEnv(database, logDir, 'production', { ...settings, ...extra }),
      ['--expose-gc', ...startNodeFlags(), ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}cpu-${stamp}/${label}`] : [])])

    // Users, project and tokens once, through a node that then stops: every later node shares the database.
    const setupNode = await backplane('setup')
    const users = Math.ceil(options.sockets / SOCKETS_PER_USER)
    const started = Date.now()
    const { projectId, tokens } = await setupNode.call<{ projectId: string, tokens: string[] }>('setup', { users }, 600_000)
    await setupNode.stop()
    say(`${users} users with a session and an access token each, viewers of project ${projectId}, in ${((Date.now() - started) / 1000).toFixed(1)} s`)

    const setups: Setup[] = []
    try {
      setups.push(await openSetup('bare ws', (i) => forkRpc(`bare ${i}`, serverScript('./ws-bare-server.ts'), env, ['--expose-gc']), tokens, projectId))
      setups.push(await openSetup('backplane', (i) => backplane(`backplane-${i}`, {}, options.cpuProf && i === 0), tokens, projectId))
      if (options.workers > 0) {
        // One primary and N workers (node:cluster) hold the sockets; a worker publishes, the primary relays to the others.
        const workers = (i: number) => forkRpc(`workers-${i}`, serverScript('./ws-workers-server.ts'),
          backplaneEnv(database, logDir, 'production', { ...settings, WEB_CONCURRENCY: String(options.workers) }), ['--expose-gc', ...startNodeFlags()])
        setups.push(await openSetup(`backplane, ${options.workers} workers`, workers, tokens, projectId, undefined, options.perServer * options.workers))
        const { perWorker } = await setups.at(-1)!.publisher.call<{ perWorker: Array<{ sockets: number, descriptors: number }> }>('stats')
        say(`  per worker: ${perWorker.map((w) => `${w.sockets} sockets, ${w.descriptors} open files`).join('; ')}`)
      }
      if (options.redisUrl) {
        // Node B publishes; the clients hold their sockets on node A (and its other processes, if any).
        const nodeB = await backplane('node-b', { REDIS_URL: options.redisUrl })
        const twoNodes = await openSetup('two nodes', (i) => backplane(`node-a-${i}`, { REDIS_URL: options.redisUrl! }), tokens, projectId, () => nodeB)
          .catch(async (err: unknown) => { await nodeB.stop(); throw err })
        setups.push({ ...twoNodes, close: async () => { await twoNodes.close(); await nodeB.stop() } })
      }
      say(`broadcasting to ${options.subscribers} subscribers: ${options.warmup} + ${options.rounds} rounds, alternating ${setups.map((s) => s.name).join(', ')}`)
      await alternate(setups, projectId)
    } finally {
      for (const setup of setups) await setup.close()
    }
    type Summarised = Setup & { summary: ReturnType<typeof summariseRounds> }
    const summarised: Summarised[] = setups.map((setup) => ({ ...setup, summary: summariseRounds(setup.rounds) }))
    const [bare, one] = summarised as [Summarised, Summarised]
    const workers = options.workers > 0 ? summarised[2] : undefined
    const twoNodes = summarised[options.workers > 0 ? 3 : 2]
    load.after = loadavg()[0] ?? 0

    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
    const rows: Array<Array<string | number>> = [
      ['bare ws, one process', bare.sockets.opened, bare.memory.full.rssMb, bare.memory.perSocketKb, bare.summary.p50, bare.summary.p99, bare.summary.worstP99, '-', '-'],
      ['backplane, one node', one.sockets.opened, one.memory.full.rssMb, one.memory.perSocketKb, one.summary.p50, one.summary.p99, one.summary.worstP99, one.summary.commitMs, ratio(one.summary.p99, bare.summary.p99)]
    ]
    if (workers) rows.push([`backplane, ${options.workers} workers`, workers.sockets.opened, workers.memory.full.rssMb, workers.memory.perSocketKb, workers.summary.p50, workers.summary.p99, workers.summary.worstP99, workers.summary.commitMs, ratio(workers.summary.p99, bare.summary.p99)])
    if (twoNodes) rows.push(['backplane, A←B via Redis', twoNodes.sockets.opened, twoNodes.memory.full.rssMb, twoNodes.memory.perSocketKb, twoNodes.summary.p50, twoNodes.summary.p99, twoNodes.summary.worstP99, twoNodes.summary.commitMs, ratio(twoNodes.summary.p99, bare.summary.p99)])
    say('\n' + table(['setup', 'sockets', 'RSS MB', 'KB/socket', 'p50 ms', 'p99 ms', 'worst p99', 'commit ms', 'p99 ratio'], rows))
    say(`\nRSS: all server processes, after a GC, with every socket open (KB/socket = growth over the empty processes / sockets). Backplane empty: ${one.memory.empty.rssMb} MB, bare: ${bare.memory.empty.rssMb} MB`)
    say(`latency: publish (Backplane: before the outbox insert; commit ms is insert+commit) to each client's receipt, ${options.subscribers} subscribers; medians of ${options.rounds} rounds after ${options.warmup} warm-up rounds`)
    say(`RSS ratio backplane/bare: ${ratio(one.memory.full.rssMb, bare.memory.full.rssMb)}; per-socket ratio ${ratio(one.memory.perSocketKb, bare.memory.perSocketKb)}; p99 ratio ${ratio(one.summary.p99, bare.summary.p99)} (target ≤ 1.3×)`)
    if (workers) say(`workers: ${workers.memory.full.processes} processes (primary + ${options.workers} workers); RSS ${workers.memory.full.rssMb} MB against bare ws ${bare.memory.full.rssMb} MB (${ratio(workers.memory.full.rssMb, bare.memory.full.rssMb)}); ${workers.summary.missing} deliveries missing`)
    say(`load average (1 min) before ${load.before.toFixed(2)}, after ${load.after.toFixed(2)} on ${machine().cpus} CPUs`)
    const file = await writeResult('ws', { kind: 'ws', date: new Date().toISOString(), machine: machine(), source: sourceState(), options: { ...options, redisUrl: options.redisUrl ? 'set' : undefined }, database: database.mode, loadAverage: load, bare: stored(bare), backplane: stored(one), workers: workers && stored(workers), twoNodes: twoNodes && stored(twoNodes) })
    say(`results: ${file}`)
  } finally {
    await cleanup()
  }
}

await main()
