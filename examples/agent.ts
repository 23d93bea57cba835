// A minimal Backplane agent: it heart-beats, claims runs (long-polling), runs them and reports.
//
//   BACKPLANE_URL=http://localhost:8080 BACKPLANE_AGENT_KEY=bp_… node examples/agent.ts
//
// What "running" means is yours to write (see `work` below). This one understands a tiny payload:
//   { "echo": any }        → succeeds with { echo }
//   { "sleepMs": 2000 }    → works that long, reporting progress
//   { "fail": "reason" }   → fails with that error (the task's retry policy decides what next)
// It stops cleanly on SIGTERM/SIGINT: it finishes the run in hand, then exits.
import { setTimeout as sleep } from 'node:timers/promises'

const base = (process.env.BACKPLANE_URL ?? 'http://localhost:8080').replace(/\/$/, '')
const key = process.env.BACKPLANE_AGENT_KEY
if (!key) {
  console.error('Set BACKPLANE_AGENT_KEY to the agent credential shown when the agent was registered')
  process.exit(1)
}

interface Execution { id: string, taskName: string, attempt: number, payload: unknown }

const stop = new AbortController()
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => { stop.abort() })
const pause = (ms: number) => sleep(ms, undefined, { signal: stop.signal }).catch(() => {})

async function call (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'x-api-key': key!, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(40_000)]) : AbortSignal.timeout(40_000)
  })
}

async function heartbeatLoop (): Promise<void> {
  let every = 20
  while (!stop.signal.aborted) {
    try {
      const res = await call('POST', '/agents/me/heartbeat', { version: 'example-agent/1' })
      if (res.ok) every = ((await res.json()) as { heartbeatSeconds: number }).heartbeatSeconds
      else console.error(`heartbeat refused: ${res.status} ${await res.text()}`)
    } catch (err) {
      console.error(`heartbeat failed: ${(err as Error).message}`)
    }
    await pause(every * 1000)
  }
}

async function work (execution: Execution): Promise<{ ok: true, result: unknown } | { ok: false, error: string }> {
  const payload = (execution.payload ?? {}) as { echo?: unknown, sleepMs?: number, fail?: string }
  const total = Math.min(Number(payload.sleepMs ?? 0), 3_600_000)
  for (let done = 0; done < total; done += 1000) {
    await sleep(Math.min(1000, total - done))
    const res = await call('POST', `/executions/${execution.id}/progress`, { progress: Math.round(((done + 1000) / total) * 100) % 101, log: `worked ${Math.min(done + 1000, total)} ms\n` })
    // 409: the run was cancelled or timed out meanwhile; stop working on it.
    if (res.status === 409 || res.status === 404) return { ok: false, error: 'no longer running' }
  }
  if (payload.fail) return { ok: false, error: payload.fail }
  return { ok: true, result: { echo: payload.echo ?? null, attempt: execution.attempt } }
}

async function claimLoop (): Promise<void> {
  while (!stop.signal.aborted) {
    let res: Response
    try {
      // Stopping hangs up on the wait: the server then claims nothing for this agent.
      res = await call('POST', '/agents/me/claim?wait=25', undefined, stop.signal)
    } catch (err) {
      if (stop.signal.aborted) break
      console.error(`claim failed: ${(err as Error).message}; retrying`)
      await pause(2000)
      continue
    }
    if (res.status === 204) continue
    if (!res.ok) {
      console.error(`claim refused: ${res.status} ${await res.text()}`)
      await pause(5000)
      continue
    }
    const execution = (await res.json()) as Execution
    console.log(`running ${execution.taskName} (execution ${execution.id}, attempt ${execution.attempt})`)
    const outcome = await work(execution)
    if (outcome.ok) await call('POST', `/executions/${execution.id}/complete`, { result: outcome.result, log: 'done\n' })
    else if (outcome.error !== 'no longer running') await call('POST', `/executions/${execution.id}/fail`, { error: outcome.error })
    console.log(`finished ${execution.id}: ${outcome.ok ? 'succeeded' : outcome.error}`)
  }
}

console.log(`agent working for ${base}`)
await Promise.all([heartbeatLoop(), claimLoop()])
console.log('agent stopped')
process.exit(0)
