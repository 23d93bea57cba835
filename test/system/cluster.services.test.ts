// Three Backplane nodes behind a real nginx, rendered from deploy/nginx/backplane.conf.template,
// on the machine's PostgreSQL (a private database per run), Redis and RabbitMQ (a private
// BACKPLANE_NAMESPACE per run). Node A runs `--workers 2`. Everything a client does goes through
// nginx; the figures (sent, failed, events delivered, runs per slot) are printed at the end.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, freshRequest, signIn, signUp, type SignedIn } from '../helpers/http-client.ts'
import { startLoad, type LoadFigures } from '../helpers/mixed-load.ts'
import { nginxBinary, startNginx, type PrivateNginx } from '../helpers/nginx.ts'
import { freePort, spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'
import { amqpUrl, canConnectAmqp } from '../helpers/queue.ts'
import { openSocket, subscribe, type TestSocket } from '../helpers/realtime.ts'
import { adminQuery, canConnectPostgres, canConnectRedis, redisUrl, requireServices } from '../helpers/services.ts'

const databaseUrl = process.env.DATABASE_URL
const configured = databaseUrl !== undefined && process.env.REDIS_URL !== undefined && process.env.AMQP_URL !== undefined
const reachable = configured && await canConnectPostgres(databaseUrl) && await canConnectRedis() && await canConnectAmqp()
if (requireServices && !reachable) throw new Error('the cluster test needs DATABASE_URL, REDIS_URL and AMQP_URL answering (BACKPLANE_REQUIRE_SERVICES=1)')
if (requireServices && !nginxBinary) throw new Error('the cluster test needs nginx (apt-get install -y nginx; .ci/run does it)')

const figures: Record<string, unknown> = {}
const TASKS = 20

describe.skipIf(!reachable || !nginxBinary)('three nodes behind nginx (services lane)', () => {
  const run = randomBytes(4).toString('hex')
  const database = `bp_cluster_${run}`
  const work = mkdtempSync(join(tmpdir(), 'bp-cluster-'))
  const secret = randomBytes(36).toString('base64url')
  let dbUrl: string
  let ports: number[]
  const nodes: BackplaneProcess[] = []
  let nginx: PrivateNginx
  let owner: SignedIn
  let projectId: string
  let taskIds: string[]
  let tasksCreatedAt: number

  const env = (i: number): Record<string, string> => ({
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    AMQP_URL: amqpUrl,
    BACKPLANE_NAMESPACE: `cl${run}`,
    BACKPLANE_SECRET: secret,
    DATA_DIR: join(work, `node-${i}`),
    PORT: String(ports[i]),
    TRUST_PROXY: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DELAY_MS: '1000',
    DATABASE_POOL_MAX: '4',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_USER_PER_MINUTE: '1000000',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '30',
    EVENTS_RELAY_INTERVAL_MS: '50',
    SCHEDULER_INTERVAL_MS: '250'
  })
  const args = (i: number) => i === 0 ? ['src/main.ts', 'start', '--workers', '2'] : ['src/main.ts', 'start']
  const retired: string[] = []
  const startNode = async (i: number) => {
    if (nodes[i]) retired.push(nodes[i].output())
    return spawnBackplane(env(i), args(i), 90_000)
  }
  const upstreamOf = (r: { headers: Record<string, string | string[] | undefined> }) => String(r.headers['x-upstream'] ?? '')

  beforeAll(async () => {
    await adminQuery(databaseUrl!, `CREATE DATABASE ${database}`)
    const u = new URL(databaseUrl!)
    u.pathname = `/${database}`
    dbUrl = u.toString()
    ports = [await freePort(), await freePort(), await freePort()]
    // A first: it migrates the empty database; B and C then start side by side.
    nodes[0] = await startNode(0)
    ;[nodes[1], nodes[2]] = await Promise.all([startNode(1), startNode(2)])
    // The test's own http{} block names the upstream that answered, so a test can tell the nodes apart.
    nginx = await startNginx(join(work, 'nginx'), await freePort(), ports, 'add_header X-Upstream $upstream_addr always;')
    owner = await signUp(nginx.url)
    const project = await freshRequest(`${nginx.url}/api/v1/projects`, { method: 'POST', headers: bearer(owner), json: { name: 'cluster' } })
    projectId = String(project.body?.id)
    // Tasks due every minute (the shortest schedule) fire through every fault below; their runs
    // per (task, slot) are counted at the end.
    tasksCreatedAt = Date.now()
    taskIds = await Promise.all(Array.from({ length: TASKS }, async (_, i) => {
      const task = await freshRequest(`${nginx.url}/api/v1/projects/${projectId}/tasks`, { method: 'POST', headers: bearer(owner), json: { name: `every-minute-${i}`, schedule: '* * * * *' } })
      if (task.status !== 201) throw new Error(`task creation answered ${task.status}: ${JSON.stringify(task.body)}`)
      return String(task.body?.id)
    }))
  }, 180_000)

  afterAll(async () => {
    await nginx?.stop()
    process.stdout.write(`ports: nodes ${ports.join(', ')}, nginx ${nginx?.url}\n`)
    await Promise.all(nodes.map(async (n) => {
      if (n.child.exitCode === null && n.child.signalCode === null) { n.child.kill('SIGTERM'); await n.exited }
    }))
    process.stdout.write(`\ncluster figures: ${JSON.stringify(figures, null, 2)}\n`)
    // Errors the nodes logged (level ≥ 50), to tell a node's own failure from the test's.
    for (const output of [...retired, ...nodes.map((n) => n.output())]) {
      const errors = output.split('\n').filter((l) => /"level":(50|60)/.test(l))
      if (errors.length > 0) process.stdout.write(`a node logged errors:\n${errors.slice(-10).join('\n')}\n`)
    }
    process.stdout.write(`nginx error log (tail):\n${nginx?.errors().split('\n').slice(-15).join('\n')}\n`)
    await adminQuery(databaseUrl!, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {})
    const { Redis } = await import('ioredis')
    const redis = new Redis(redisUrl)
    const keys = await redis.keys(`cl${run}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
    rmSync(work, { recursive: true, force: true })
  }, 60_000)

  /** everyNode sends the request until each of the three nodes has answered it (at most 30 times) and returns the statuses. */
  async function everyNode (send: () => Promise<{ status: number, headers: Record<string, string | string[] | undefined> }>): Promise<{ statuses: number[], nodes: number }> {
    const seen = new Set<string>()
    const statuses: number[] = []
    for (let i = 0; i < 30 && seen.size < 3; i++) {
      const r = await send()
      statuses.push(r.status)
      seen.add(upstreamOf(r))
    }
    return { statuses, nodes: seen.size }
  }

  it('sign-out is refused on every node at once', async () => {
    const user = await signUp(nginx.url)
    const me = () => freshRequest(`${nginx.url}/api/v1/users/me`, { headers: bearer(user) })
    const before = await everyNode(me)
    expect(before.nodes).toBe(3)
    expect(new Set(before.statuses)).toEqual(new Set([200]))
    expect((await freshRequest(`${nginx.url}/api/v1/auth/logout`, { method: 'POST', headers: bearer(user) })).status).toBe(204)
    const after = await everyNode(me)
    figures.signOut = { requestsBefore: before.statuses.length, requestsAfter: after.statuses.length, refusedAfter: after.statuses.filter((s) => s === 401).length, nodes: after.nodes }
    expect(after.nodes).toBe(3)
    expect(new Set(after.statuses)).toEqual(new Set([401]))
  })

  it('one rate-limit budget across the nodes', async () => {
    const client = { 'x-forwarded-for': `198.51.100.${1 + Math.floor(Math.random() * 250)}` }
    const replies = await Promise.all(Array.from({ length: 60 }, () => freshRequest(`${nginx.url}/api/v1/projects`, { headers: client })))
    const limited = replies.filter((r) => r.status === 429).length
    figures.rateLimit = { sent: 60, budget: 30, passed: 60 - limited, limited, nodes: new Set(replies.map(upstreamOf)).size }
    expect(60 - limited).toBe(30)
    expect(new Set(replies.map(upstreamOf)).size).toBe(3)
  })

  it('a socket gets events caused on other nodes and resumes from lastEventId after its node is killed', async () => {
    const user = await signUp(nginx.url)
    const wsUrl = `${nginx.url.replace('http', 'ws')}/api/v1/realtime`
    // Three sockets through nginx's round robin: one per node. Node C (one process) is then killed.
    const sockets: TestSocket[] = []
    for (let i = 0; i < 3; i++) {
      const s = await openSocket(wsUrl, { token: user.accessToken })
      expect((await subscribe(s, `user:${user.userId}`)).type).toBe('subscribed')
      sockets.push(s)
    }
    const sessionEvent = (sid: string) => (m: { type: string, data?: Record<string, unknown> }) => m.type === 'event' && m.data?.sessionId === sid
    const first = await Promise.all(Array.from({ length: 6 }, () => signIn(nginx.url, user.email, user.password)))
    for (const s of first) for (const socket of sockets) await socket.next(sessionEvent(s.sessionId), 10_000)

    nodes[2]!.child.kill('SIGKILL')
    await nodes[2]!.exited
    const closed = await Promise.race([
      Promise.any(sockets.map(async (s) => { await s.closed; return s })),
      new Promise<undefined>((resolve) => setTimeout(() => { resolve(undefined) }, 5000))
    ])
    expect(closed, 'one of the three sockets was on node C').toBeDefined()
    const lastEventId = String(closed!.messages.filter((m) => m.type === 'event').pop()!.id)
    // Written while that client is away, through the nodes still up.
    const missed = await Promise.all(Array.from({ length: 6 }, () => signIn(nginx.url, user.email, user.password)))
    const again = await openSocket(wsUrl, { token: user.accessToken })
    try {
      expect((await subscribe(again, `user:${user.userId}`, lastEventId)).type).toBe('subscribed')
      for (const s of missed) await again.next(sessionEvent(s.sessionId), 10_000)
      // The sockets on the surviving nodes got them live.
      for (const socket of sockets.filter((s) => s !== closed)) for (const s of missed) await socket.next(sessionEvent(s.sessionId), 10_000)
      figures.realtime = { sockets: 3, eventsBefore: first.length, missedWhileAway: missed.length, replayedAfterResume: missed.length, deliveredLive: (first.length * 3) + missed.length * 2 }
    } finally {
      again.ws.close()
      for (const s of sockets) s.ws.close()
    }
  }, 120_000)

  // Each load writes as two new users of its own, in turn: one owner's 1,000-project cap would
  // otherwise turn writes into 409s (a quiet machine makes ~1,300 during the rolling restart).
  const mixedLoad = async () => {
    const writers = [await signUp(nginx.url), await signUp(nginx.url)]
    return startLoad({
      base: nginx.url,
      token: owner.accessToken,
      readers: 6,
      writers: 2,
      write: (n) => ({ path: '/api/v1/projects', body: { name: `load-${n}` }, token: writers[n % 2]!.accessToken })
    })
  }
  async function acknowledgedMissing (load: LoadFigures): Promise<number> {
    const { rows } = await adminQuery(dbUrl, 'SELECT count(*)::int AS n FROM projects WHERE id = ANY($1::uuid[])', [load.acknowledged])
    return load.acknowledged.length - (rows[0] as { n: number }).n
  }

  it('a node SIGKILLed under load loses no GET (nginx retries idempotent requests) and no acknowledged write', async () => {
    const load = await mixedLoad()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    // Node C is down since the realtime test: B is killed now, A (two workers) carries the load.
    nodes[1]!.child.kill('SIGKILL')
    await nodes[1]!.exited
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const result = await load.stop()
    const lost = await acknowledgedMissing(result)
    figures.kill = { reads: result.reads, writes: result.writes, acknowledgedWrites: result.acknowledged.length, acknowledgedLost: lost, failures: result.failures }
    expect(result.reads.failed, result.failures.join('\n')).toBe(0)
    expect(result.reads.sent).toBeGreaterThan(0)
    expect(lost).toBe(0)
    ;[nodes[1], nodes[2]] = await Promise.all([startNode(1), startNode(2)])
  }, 120_000)

  // nginx (without the commercial active health checks) learns that a node is leaving only from a
  // failed request. A node on SIGTERM serves everything for SHUTDOWN_DELAY (with Connection: close),
  // then answers GETs 503 NODE_DRAINING: nginx retries them on the next node and stops sending to
  // it, so nothing is in flight when its listener closes; POSTs are served to the end. So no
  // request of any kind may fail, and no acknowledged write may be lost.
  // The drain (no 503 to a POST after close(), idle connections left open, GETs refused for up to
  // 1 s before the listener closes so nginx takes the node out) is in src/server.ts and
  // src/platform/lifecycle.ts, proven alone by src/platform/lifecycle.test.ts.
  it('a rolling restart of all three nodes under mixed load fails no request and loses no acknowledged write', async () => {
    const load = await mixedLoad()
    const exits: Array<number | null> = []
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      nodes[i]!.child.kill('SIGTERM')
      const exit = await nodes[i]!.exited
      exits.push(exit.code)
      if (exit.code !== 0) figures[`node${i}Exit`] = { ...exit, output: nodes[i]!.output().slice(-2000) }
      nodes[i] = await startNode(i)
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const result = await load.stop()
    const lost = await acknowledgedMissing(result)
    figures.rollingRestart = { reads: result.reads, writes: result.writes, acknowledgedLost: lost, exitCodes: exits, failures: result.failures }
    expect(exits).toEqual([0, 0, 0])
    expect(result.reads.failed, result.failures.join('\n')).toBe(0)
    expect(result.writes.failed, result.failures.join('\n')).toBe(0)
    expect(result.writes.sent).toBeGreaterThan(0)
    expect(lost).toBe(0)
  }, 180_000)

  it('cron fired each slot exactly once through all of the above', async () => {
    // Every task has passed at least one minute boundary (at most a minute after they were made).
    const runs = async () => (await adminQuery(dbUrl, 'SELECT task_id, slot, count(*)::int AS runs FROM executions WHERE task_id = ANY($1::uuid[]) AND slot IS NOT NULL GROUP BY task_id, slot', [taskIds])).rows as Array<{ task_id: string, slot: Date, runs: number }>
    const deadline = Math.max(Date.now(), tasksCreatedAt + 75_000)
    while (Date.now() < deadline && new Set((await runs()).map((r) => r.task_id)).size < TASKS) await new Promise((resolve) => setTimeout(resolve, 500))
    await Promise.all(taskIds.map((id) => freshRequest(`${nginx.url}/api/v1/tasks/${id}`, { method: 'PATCH', headers: bearer(owner), json: { enabled: false } })))
    const fired = await runs()
    const perSlot = new Map<string, number>()
    for (const r of fired) perSlot.set(r.slot.toISOString(), (perSlot.get(r.slot.toISOString()) ?? 0) + 1)
    figures.cron = { tasks: TASKS, taskSlotsFired: fired.length, runsPerTaskSlot: [...new Set(fired.map((r) => r.runs))], tasksPerSlot: Object.fromEntries(perSlot) }
    expect(new Set(fired.map((r) => r.task_id)).size).toBe(TASKS)
    expect(fired.every((r) => r.runs === 1)).toBe(true)
    // Each minute slot fired for every task whose schedule included it (none left behind by the kills).
    for (const [slot, tasks] of perSlot) if (Date.parse(slot) > tasksCreatedAt + 1000) expect(tasks, slot).toBe(TASKS)
  }, 120_000)
})
