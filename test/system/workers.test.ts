import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'
import { bearer, freshRequest, signIn, signUp } from '../helpers/http-client.ts'
import { openSocket } from '../helpers/realtime.ts'
import { execFileSync } from 'node:child_process'

/** workerPids lists the Node worker processes a primary forked (its other child is the embedded PostgreSQL). */
function workerPids (primary: number): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(primary)], { encoding: 'utf8' })
  return out.split('\n').filter((l) => l.includes('src/main.ts')).map((l) => Number(l.trim().split(/\s+/)[0]))
}

// `backplane start --workers 2` without Redis, on real processes: what one worker does, the other
// must honour at once. Every request here goes on a new connection, and node:cluster hands
// connections to the workers in turn, so consecutive requests land on both workers.
describe('backplane start --workers 2 without Redis', () => {
  let node: BackplaneProcess
  let dataDir: string
  const spread = (n: number, send: () => Promise<{ status: number }>) => Promise.all(Array.from({ length: n }, send)).then((r) => r.map((x) => x.status))

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bp-workers-'))
    node = await spawnBackplane({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      RATE_LIMIT_AUTH_PER_MINUTE: '1000',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '20',
      // The rate-limit test speaks as a client address of its own through X-Forwarded-For (as behind nginx).
      TRUST_PROXY: '127.0.0.1',
      EVENTS_RELAY_INTERVAL_MS: '50'
    }, ['src/main.ts', 'start', '--workers', '2'], 90_000)
  }, 120_000)

  afterAll(async () => {
    if (node && node.child.exitCode === null) {
      node.child.kill('SIGTERM')
      const { code } = await node.exited
      expect(code).toBe(0)
    }
    rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it('runs two worker processes behind one port, with one primary', async () => {
    expect(node.output()).toContain('is ready with 2 workers')
    // Distinct process ids among the replies show both workers answering (process_start_time differs).
    const metrics = await freshRequest(`${node.url}/metrics`)
    expect(metrics.status).toBe(200)
  })

  it('revocation: a sign-out on one worker is refused by the other at once', async () => {
    const user = await signUp(node.url)
    const me = () => freshRequest(`${node.url}/api/v1/users/me`, { headers: bearer(user) })
    // Both workers now hold the live session in their memory cache (30 s TTL).
    expect(await spread(6, me)).toEqual(Array(6).fill(200))
    expect((await freshRequest(`${node.url}/api/v1/auth/logout`, { method: 'POST', headers: bearer(user) })).status).toBe(204)
    expect(await spread(6, me)).toEqual(Array(6).fill(401))
  })

  // The 500 that once quarantined this test was a pooled connection left in an aborted transaction
  // when both workers installed pg-boss at once (src/platform/adapters/postgres-guard.test.ts).
  it('cache invalidation: an API key revoked on one worker is refused by the other at once', async () => {
    const user = await signUp(node.url)
    const created = await freshRequest(`${node.url}/api/v1/api-keys`, { method: 'POST', headers: bearer(user), json: { name: 'workers', scopes: ['project:read'] } })
    expect(created.status).toBe(201)
    const { id, key } = created.body as { id: string, key: string }
    const list = () => freshRequest(`${node.url}/api/v1/projects`, { headers: { 'x-api-key': key } })
    expect(await spread(6, list)).toEqual(Array(6).fill(200))
    expect((await freshRequest(`${node.url}/api/v1/api-keys/${id}`, { method: 'DELETE', headers: bearer(user) })).status).toBe(204)
    expect(await spread(6, list)).toEqual(Array(6).fill(401))
  })

  it('realtime fan-out: a socket on one worker gets the events of writes served by either worker', async () => {
    const user = await signUp(node.url)
    const socket = await openSocket(`${node.url.replace('http', 'ws')}/api/v1/realtime`, { token: user.accessToken })
    try {
      socket.send({ type: 'subscribe', channel: `user:${user.userId}` })
      await socket.next((m) => m.type === 'subscribed')
      // Six sign-ins on fresh connections: three on each worker, each recording session.created.
      const sessions = await Promise.all(Array.from({ length: 6 }, () => signIn(node.url, user.email, user.password)))
      for (const s of sessions) {
        await socket.next((m) => m.type === 'event' && (m.data as { sessionId?: string } | undefined)?.sessionId === s.sessionId, 10_000)
      }
    } finally {
      socket.ws.close()
    }
  })

  it('rate limits: the workers share one budget per client', async () => {
    // A client of its own: the revoked credentials above were counted for 127.0.0.1.
    const client = `203.0.113.${1 + Math.floor(Math.random() * 250)}`
    const statuses = await spread(40, () => freshRequest(`${node.url}/api/v1/projects`, { headers: { 'x-forwarded-for': client } }))
    // 20 anonymous requests a minute from this address, across both workers: the rest are 429.
    expect(statuses.filter((s) => s !== 429)).toHaveLength(20)
    expect(statuses.filter((s) => s === 429)).toHaveLength(20)
  })

  it('/metrics covers the whole group (prom-client aggregator)', async () => {
    const text = String((await fetch(`${node.url}/metrics`).then((r) => r.text())))
    // Request counts summed over both workers: the spread requests above reached both.
    const line = text.split('\n').find((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes('route="/api/v1/projects"') && l.includes('status_code="429"'))
    expect(line).toBeDefined()
    expect(Number(line!.split(' ').pop())).toBe(20)
  })

  it('every worker started its job workers, though both installed pg-boss at once on a new database', () => {
    // The loser of that race used to give up: its jobs were never consumed in that process.
    expect(node.output()).not.toContain('job workers did not start')
  })

  it('a killed worker is replaced (with back-off) and the port keeps answering', async () => {
    const before = workerPids(node.child.pid!)
    expect(before).toHaveLength(2)
    process.kill(before[0]!, 'SIGKILL')
    const deadline = Date.now() + 20_000
    let after = workerPids(node.child.pid!)
    // The primary's log lines are written in batches (asynchronously): wait for the line too.
    const replaced = () => after.length === 2 && !after.includes(before[0]!) && node.output().includes('worker exited; restarting it')
    while (Date.now() < deadline && !replaced()) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      after = workerPids(node.child.pid!)
    }
    expect(after).toHaveLength(2)
    expect(after).not.toContain(before[0])
    expect(node.output()).toContain('worker exited; restarting it')
    expect((await freshRequest(`${node.url}/health/live`)).status).toBe(200)
  }, 30_000)
})
