import { forkRpc, type RpcChild } from './ws-rpc.ts'
import { treeMemory, type TreeMemory } from './proc.ts'
import { median } from './report.ts'
import { serverScript } from './servers.ts'

/** SOCKETS_PER_USER is Backplane's per-user cap on one node: each bench token opens at most this many sockets. */
export const SOCKETS_PER_USER = 20

/** Target is one server process the clients connect to, and how many sockets it gets. */
export interface Target { server: RpcChild, url: string, sockets: number }

/** Client is one client process and the share of sockets it holds. */
export interface Client { child: RpcChild, target: Target, sockets: number, firstSocket: number }

/** startClients forks enough client processes (at most perClient sockets each) to hold every target's sockets. */
export async function startClients (targets: Target[], perClient: number, env: NodeJS.ProcessEnv): Promise<Client[]> {
  const clients: Client[] = []
  let firstSocket = 0
  for (const target of targets) {
    for (let left = target.sockets; left > 0; left -= perClient) {
      const sockets = Math.min(perClient, left)
      const child = await forkRpc(`client ${clients.length}`, serverScript('./ws-client.ts'), env, ['--max-old-space-size=2048'])
      clients.push({ child, target, sockets, firstSocket })
      firstSocket += sockets
    }
  }
  return clients
}

/**
 * connectAll opens every client's sockets at once (each client process 50 handshakes in flight);
 * socket i uses token ⌊i/20⌋ and loopback source address i mod addresses.
 */
export async function connectAll (clients: Client[], tokens: string[], addresses: string[]) {
  const replies = await Promise.all(clients.map(async (c) => {
    const first = c.firstSocket / SOCKETS_PER_USER
    const mine = tokens.slice(first, first + Math.ceil(c.sockets / SOCKETS_PER_USER))
    return c.child.call<{ opened: number, failed: number, errors: Record<string, number>, ms: number }>('connect',
      { url: c.target.url, tokens: mine, perToken: SOCKETS_PER_USER, count: c.sockets, addresses, concurrency: 50 }, 600_000)
  }))
  const errors: Record<string, number> = {}
  for (const r of replies) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
  return { opened: replies.reduce((n, r) => n + r.opened, 0), failed: replies.reduce((n, r) => n + r.failed, 0), errors, ms: Math.max(...replies.map((r) => r.ms)) }
}

/** subscribeSome subscribes `count` sockets of the clients of one target to a channel. */
export async function subscribeSome (clients: Client[], target: Target, count: number, channel: string): Promise<Array<{ client: Client, subscribed: number }>> {
  const out: Array<{ client: Client, subscribed: number }> = []
  let left = count
  const plan = clients.filter((c) => c.target === target).map((client) => {
    const n = Math.min(left, client.sockets)
    left -= n
    return { client, n }
  }).filter((p) => p.n > 0)
  if (left > 0) throw new Error(`only ${count - left} sockets are open on ${target.server.name}, ${count} subscribers asked`)
  await Promise.all(plan.map(async ({ client, n }) => {
    const r = await client.child.call<{ subscribed: number, errors: Record<string, number> }>('subscribe', { count: n, channel, concurrency: 50 }, 600_000)
    if (r.subscribed < n) process.stderr.write(`${client.child.name}: ${n - r.subscribed} subscriptions failed ${JSON.stringify(r.errors)}\n`)
    out.push({ client, subscribed: r.subscribed })
  }))
  return out
}

/** percentile is the nearest-rank percentile of sorted values. */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** Round is one broadcast: latencies from publish to each receipt, and the server's own timings. */
export interface Round { received: number, expected: number, p50: number, p99: number, max: number, commitMs: number, relayMs: number }

/**
 * broadcastRounds publishes `rounds` events (after `warmup` unmeasured ones) on `publisher`, one at
 * a time, and collects every subscriber's receipt latency for each.
 */
export async function broadcastRounds (publisher: RpcChild, subscribers: Array<{ client: Client, subscribed: number }>, projectId: string, warmup: number, rounds: number, roundBase: number): Promise<Round[]> {
  const out: Round[] = []
  const expected = subscribers.reduce((n, s) => n + s.subscribed, 0)
  for (let i = 0; i < warmup + rounds; i++) {
    const round = roundBase + i
    const collecting = Promise.all(subscribers.map((s) => s.client.child.call<{ latencies: number[] }>('collect', { round, expected: s.subscribed, timeoutMs: 20_000 }, 30_000)))
    const timing = await publisher.call<{ sentAt: number, committedAt: number, relayedAt: number, relayed?: number }>('publish', { projectId, round }, 30_000)
    // Every setup's nodes share one database: an event relayed by another setup's relay went to that setup's pub/sub.
    // (A sibling worker of the same group relaying it is harmless; another setup's process loses it.)
    if (timing.relayed === 0) process.stderr.write(`${publisher.name}: round ${round}: the event was relayed by another process, not by the publisher\n`)
    const latencies = (await collecting).flatMap((r) => r.latencies).sort((a, b) => a - b)
    if (i >= warmup) {
      out.push({ received: latencies.length, expected, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN, commitMs: timing.committedAt - timing.sentAt, relayMs: timing.relayedAt - timing.sentAt })
    }
    // Let the sockets drain and the server settle between rounds.
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return out
}

/** summariseRounds is the median across rounds of each figure, plus the worst p99 and anything lost. */
export function summariseRounds (rounds: Round[]) {
  return {
    rounds: rounds.length,
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    worstP99: Math.max(...rounds.map((r) => r.p99)),
    commitMs: median(rounds.map((r) => r.commitMs)),
    missing: rounds.reduce((n, r) => n + r.expected - r.received, 0)
  }
}

/** serversMemory sums the memory of server process trees (after a GC in each). */
export async function serversMemory (servers: RpcChild[]): Promise<TreeMemory & { heapUsedMb: number }> {
  let rssMb = 0
  let pssMb = 0
  let processes = 0
  let heapUsed = 0
  for (const s of servers) {
    await s.call('gc')
    await new Promise((resolve) => setTimeout(resolve, 200))
    const m = await treeMemory(s.pid)
    const stats = await s.call<{ memory: NodeJS.MemoryUsage }>('stats')
    heapUsed += stats.memory.heapUsed
    rssMb += m.rssMb
    pssMb += m.pssMb ?? 0
    processes += m.processes
  }
  return { processes, rssMb: Math.round(rssMb * 10) / 10, pssMb: Math.round(pssMb * 10) / 10, heapUsedMb: Math.round(heapUsed / 104857.6) / 10 }
}

/** closeClients drops every client socket (the processes stay for the next phase). */
export async function closeClients (clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.child.call('close')))
}
