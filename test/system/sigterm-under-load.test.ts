import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { spawnBackplane, type BackplaneProcess } from '../helpers/process.ts'
import { openSocket, type TestSocket } from '../helpers/realtime.ts'

// SECURITY.md RL-01, fault run R-SIGTERM (scaled to this machine): SIGTERM while HTTP requests
// (fast and 3 s slow), WebSockets and jobs are in flight, on a real process with its embedded PostgreSQL.
const dirs: string[] = []
const procs: BackplaneProcess[] = []
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
const FIXTURE = ['test/fixtures/serve-under-load.ts']

it('RL-01 R-SIGTERM: no request started before SIGTERM fails, readiness turns 503 at once, sockets get 1001, no job is lost or applied twice, exit 0 within 25 s', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'backplane-sigterm-'))
  dirs.push(dir)
  const bp = await spawnBackplane({ DATA_DIR: dir, SHUTDOWN_DELAY_MS: '1000', RATE_LIMIT_USER_PER_MINUTE: '1000000', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000' }, FIXTURE, 60_000)
  procs.push(bp)
  const { accessToken } = await (await fetch(`${bp.url}/test/token`, { method: 'POST' })).json() as { accessToken: string }
  const sockets: TestSocket[] = []
  for (let i = 0; i < 20; i++) sockets.push(await openSocket(`${bp.url.replace('http', 'ws')}/api/v1/realtime`, { token: accessToken }))
  expect((await (await fetch(`${bp.url}/test/jobs?count=10`, { method: 'POST' })).json())).toEqual({ sent: 10 })

  const results: Array<{ started: number, status: number }> = []
  const run = { stop: false }
  const request = async (path: string) => {
    const started = Date.now()
    const status = await fetch(`${bp.url}${path}`, { headers: { authorization: `Bearer ${accessToken}` } }).then((r) => r.status, () => 0)
    results.push({ started, status })
  }
  const loops = Array.from({ length: 10 }, async () => { while (!run.stop) await request('/api/v1/projects') })
  const slow = Array.from({ length: 5 }, () => request('/test/slow?ms=3000'))
  await new Promise((resolve) => setTimeout(resolve, 1500))

  const signalled = Date.now()
  bp.child.kill('SIGTERM')
  const ready = await fetch(`${bp.url}/health/ready`).then((r) => ({ status: r.status, ms: Date.now() - signalled }))
  // Clients stop starting requests once readiness said 503 (a load balancer would take the node out).
  run.stop = true
  await Promise.all([...loops, ...slow])
  const closes = await Promise.all(sockets.map((s) => s.closed))
  const exit = await bp.exited
  const exitMs = Date.now() - signalled
  const before = results.filter((r) => r.started < signalled)
  const failed = before.filter((r) => r.status !== 200)
  console.log(`R-SIGTERM: ${results.length} requests (${before.length} before SIGTERM, ${failed.length} of those failed), readiness ${ready.status} after ${ready.ms} ms, ${closes.filter((c) => c.code === 1001).length}/${closes.length} sockets closed 1001, exit ${String(exit.code)} after ${exitMs} ms`)
  expect(ready.status).toBe(503)
  expect(failed).toEqual([])
  expect(closes.every((c) => c.code === 1001)).toBe(true)
  expect(exit.code, bp.output().slice(-3000)).toBe(0)
  expect(exitMs).toBeLessThan(25_000)

  // Jobs: whatever was running finished during the drain or went back to the queue; a second start
  // on the same data finishes the rest. Each applied exactly once.
  const again = await spawnBackplane({ DATA_DIR: dir }, FIXTURE, 60_000)
  procs.push(again)
  let done: Array<{ data: { n: number }, deliveries: number }> = []
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    done = await (await fetch(`${again.url}/test/effects`)).json() as typeof done
    if (done.length >= 10) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  again.child.kill('SIGTERM')
  await again.exited
  console.log(`R-SIGTERM jobs: 10 sent, ${done.length} applied, deliveries ${done.map((d) => d.deliveries).join(',')}`)
  expect(done.map((d) => d.data.n).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
})
