// The load of `npm run soak` (bench/soak.ts): a paced mix of HTTP requests a real client makes
// (reads, project and task writes that are deleted again, sign-ins, token refreshes, probes) and
// WebSocket churn (sockets that connect, subscribe to the project's channel, receive its events
// and close after a few seconds).
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'

/** SoakCounts is everything the load saw, by outcome. */
export interface SoakCounts {
  requests: number
  byClass: Record<string, number>
  /** errors are requests that got no HTTP answer (socket error, timeout). */
  errors: number
  /** fiveXx lists API answers of 500 and above (readiness 503s are in `refused`). */
  fiveXx: string[]
  /** refused counts the answers that were not 2xx, by method, route and status (ids replaced by :id). */
  refused: Record<string, number>
  wsOpened: number
  wsFailed: number
  wsEvents: number
  wsClosedByServer: number
}

/** SoakAccount is the signed-in user the load acts as. */
export interface SoakAccount { email: string, password: string, accessToken: string, refreshToken: string, projectId: string, refreshing?: boolean }

/** newCounts starts an empty tally. */
export function newCounts (): SoakCounts {
  return { requests: 0, byClass: {}, errors: 0, fiveXx: [], refused: {}, wsOpened: 0, wsFailed: 0, wsEvents: 0, wsClosedByServer: 0 }
}

async function send (base: string, counts: SoakCounts, method: string, path: string, token?: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
  counts.requests++
  try {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000)
    })
    const text = await res.text()
    const cls = `${Math.floor(res.status / 100)}xx`
    counts.byClass[cls] = (counts.byClass[cls] ?? 0) + 1
    if (!res.ok) {
      const key = `${method} ${path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, ':id')} ${res.status}`
      counts.refused[key] = (counts.refused[key] ?? 0) + 1
    }
    // Readiness answers 503 by design when its database ping takes over a second (the probe tells
    // the load balancer to look elsewhere); it is counted under `refused`, not as a server error.
    if (res.status >= 500 && path !== '/health/ready' && counts.fiveXx.length < 100) counts.fiveXx.push(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`)
    return res.ok && text ? JSON.parse(text) as Record<string, unknown> : undefined
  } catch {
    counts.errors++
    return undefined
  }
}

/** signInAccount registers an account, signs it in and makes its project. */
export async function signInAccount (base: string, counts: SoakCounts, email: string, password: string): Promise<SoakAccount> {
  await send(base, counts, 'POST', '/api/v1/auth/register', undefined, { email, password, name: 'Soak' })
  const tokens = await send(base, counts, 'POST', '/api/v1/auth/login', undefined, { email, password })
  if (!tokens) throw new Error('the soak account could not sign in')
  const project = await send(base, counts, 'POST', '/api/v1/projects', String(tokens.accessToken), { name: 'soak' })
  if (!project) throw new Error('the soak account could not create its project')
  return { email, password, accessToken: String(tokens.accessToken), refreshToken: String(tokens.refreshToken), projectId: String(project.id) }
}

/** oneStep sends the i-th request of the mix (a fixed cycle of 20, so every kind runs at a steady share). */
async function oneStep (base: string, counts: SoakCounts, me: SoakAccount, i: number): Promise<void> {
  const t = me.accessToken
  switch (i % 20) {
    case 0: {
      const project = await send(base, counts, 'POST', '/api/v1/projects', t, { name: `soak-${i}` })
      if (project) {
        await send(base, counts, 'PATCH', `/api/v1/projects/${String(project.id)}`, t, { name: `soak-${i}-renamed` })
        await send(base, counts, 'DELETE', `/api/v1/projects/${String(project.id)}`, t)
      }
      return
    }
    case 5: {
      const task = await send(base, counts, 'POST', `/api/v1/projects/${me.projectId}/tasks`, t, { name: `soak-${i}`, schedule: null })
      if (task) await send(base, counts, 'DELETE', `/api/v1/tasks/${String(task.id)}`, t)
      return
    }
    case 10: {
      // Refresh rotates the pair: later requests use the new access token. One refresh at a time,
      // as one client does it: overlapping ones could answer out of order and leave an old token.
      if (me.refreshing) return
      me.refreshing = true
      const tokens = await send(base, counts, 'POST', '/api/v1/auth/refresh', undefined, { refreshToken: me.refreshToken })
      if (tokens) { me.accessToken = String(tokens.accessToken); me.refreshToken = String(tokens.refreshToken) }
      me.refreshing = false
      return
    }
    // A failed sign-in of an unknown address: the account's own lock is not what is soaked here.
    case 15: await send(base, counts, 'POST', '/api/v1/auth/login', undefined, { email: `nobody-${i}@example.test`, password: me.password }); return
    case 1: case 6: case 11: case 16: await send(base, counts, 'GET', '/api/v1/projects', t); return
    case 2: case 7: case 12: case 17: await send(base, counts, 'GET', '/api/v1/users/me', t); return
    case 3: case 13: await send(base, counts, 'GET', `/api/v1/projects/${me.projectId}/tasks`, t); return
    case 4: case 14: await send(base, counts, 'GET', '/api/v1/instance'); return
    case 8: case 18: await send(base, counts, 'GET', '/health/ready'); return
    default: await send(base, counts, 'GET', `/api/v1/projects/${me.projectId}`, t)
  }
}

/** httpLoad starts `perSecond` mixed requests a second until `until`, without waiting for answers (open loop). */
export async function httpLoad (base: string, counts: SoakCounts, me: SoakAccount, perSecond: number, until: number): Promise<void> {
  const pending = new Set<Promise<void>>()
  const start = performance.now()
  for (let i = 0; Date.now() < until; i++) {
    const p = oneStep(base, counts, me, i).finally(() => { pending.delete(p) })
    pending.add(p)
    await sleep(Math.max(0, start + ((i + 1) * 1000) / perSecond - performance.now()))
  }
  await Promise.all(pending)
}

/** oneSocket connects, subscribes to the project's channel, holds the socket `holdMs`, then closes it. */
function oneSocket (wsUrl: string, counts: SoakCounts, me: SoakAccount, holdMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, ['bearer', me.accessToken], { perMessageDeflate: false, handshakeTimeout: 10_000 })
    let closing = false
    socket.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string }
      if (m.type === 'ready') {
        counts.wsOpened++
        socket.send(JSON.stringify({ type: 'subscribe', channel: `project:${me.projectId}` }))
        setTimeout(() => { closing = true; socket.close(1000) }, holdMs)
      } else if (m.type === 'event') counts.wsEvents++
    })
    socket.on('unexpected-response', (_req, res) => {
      const key = `WS /api/v1/realtime ${res.statusCode ?? 0}`
      counts.refused[key] = (counts.refused[key] ?? 0) + 1
      socket.terminate()
    })
    socket.on('error', () => { counts.wsFailed++ })
    socket.on('close', () => {
      if (!closing) counts.wsClosedByServer++
      resolve()
    })
  })
}

/** wsChurn keeps opening `perSecond` sockets a second, each held 1–5 s, until `until`. */
export async function wsChurn (wsUrl: string, counts: SoakCounts, me: SoakAccount, perSecond: number, until: number): Promise<void> {
  const pending = new Set<Promise<void>>()
  for (let i = 0; Date.now() < until; i++) {
    const p = oneSocket(wsUrl, counts, me, 1_000 + (i % 5) * 1_000).finally(() => { pending.delete(p) })
    pending.add(p)
    await sleep(1000 / perSecond)
  }
  await Promise.all(pending)
}
