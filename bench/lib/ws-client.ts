// Child process: a load client holding many WebSockets. `connect` opens them (each offering
// `bearer, <token>`, from one of several loopback source addresses), `subscribe` subscribes the
// first ones to a channel, `collect` waits for one broadcast round and returns each socket's
// latency (receipt time minus the `sentAt` the server put in the event: one machine, one clock).
import WebSocket from 'ws'
import { serveRpc } from './ws-rpc.ts'

interface Held { socket: WebSocket, subscribed: boolean }

const held: Held[] = []
const closeCodes = new Map<number, number>()
// Receipt latencies per round, filled by the message handler.
const rounds = new Map<number, number[]>()
const roundWaiters = new Map<number, () => void>()
let subscribeWaiters = new Map<WebSocket, (ok: boolean) => void>()

function onMessage (entry: Held, raw: WebSocket.RawData): void {
  const receivedAt = Date.now()
  const message = JSON.parse(String(raw)) as { type: string, data?: { sentAt?: number, round?: number } }
  if (message.type === 'event' && typeof message.data?.sentAt === 'number') {
    const round = message.data.round ?? -1
    let list = rounds.get(round)
    if (!list) rounds.set(round, (list = []))
    list.push(receivedAt - message.data.sentAt)
    roundWaiters.get(round)?.()
  } else if (message.type === 'subscribed' || message.type === 'error') {
    subscribeWaiters.get(entry.socket)?.(message.type === 'subscribed')
  }
}

/** open connects one socket and resolves once the server said `ready` (or the socket failed). */
function open (url: string, token: string, localAddress: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, ['bearer', token], { localAddress, perMessageDeflate: false, handshakeTimeout: timeoutMs })
    const entry: Held = { socket, subscribed: false }
    let settled = false
    const settle = (error?: string) => { if (!settled) { settled = true; clearTimeout(timer); resolve(error) } }
    const timer = setTimeout(() => { socket.terminate(); settle('timeout') }, timeoutMs)
    socket.on('message', (raw) => {
      if (!settled) {
        held.push(entry)
        settle()
        return
      }
      onMessage(entry, raw)
    })
    socket.on('unexpected-response', (_req, res) => { settle(`HTTP ${res.statusCode}`); socket.terminate() })
    socket.on('error', (err) => { settle(err.message) })
    socket.on('close', (code) => { closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1); settle(`closed ${code}`) })
  })
}

async function pool<T> (count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    for (let i = next++; i < count; i = next++) out[i] = await task(i)
  }))
  return out
}

function countErrors (results: Array<string | undefined>): Record<string, number> {
  const errors: Record<string, number> = {}
  for (const e of results) if (e !== undefined) errors[e] = (errors[e] ?? 0) + 1
  return errors
}

serveRpc({
  connect: async (req) => {
    const tokens = req.tokens as string[]
    const addresses = req.addresses as string[]
    const perToken = req.perToken as number
    const started = Date.now()
    const results = await pool(req.count as number, req.concurrency as number, (i) =>
      open(req.url as string, tokens[Math.floor(i / perToken)]!, addresses[i % addresses.length]!, 30_000))
    return { opened: held.length, failed: results.filter((r) => r !== undefined).length, errors: countErrors(results), ms: Date.now() - started }
  },
  subscribe: async (req) => {
    const targets = held.slice(0, req.count as number)
    subscribeWaiters = new Map()
    const started = Date.now()
    const results = await pool(targets.length, req.concurrency as number, (i) => new Promise<string | undefined>((resolve) => {
      const entry = targets[i]!
      const timer = setTimeout(() => { subscribeWaiters.delete(entry.socket); resolve('timeout') }, 30_000)
      subscribeWaiters.set(entry.socket, (ok) => {
        clearTimeout(timer)
        subscribeWaiters.delete(entry.socket)
        entry.subscribed = ok
        resolve(ok ? undefined : 'refused')
      })
      entry.socket.send(JSON.stringify({ type: 'subscribe', channel: req.channel }))
    }))
    return { subscribed: targets.filter((t) => t.subscribed).length, errors: countErrors(results), ms: Date.now() - started }
  },
  collect: async (req) => {
    const round = req.round as number
    const expected = req.expected as number
    const got = () => rounds.get(round)?.length ?? 0
    if (got() < expected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { roundWaiters.delete(round); resolve() }, req.timeoutMs as number)
        roundWaiters.set(round, () => { if (got() >= expected) { clearTimeout(timer); roundWaiters.delete(round); resolve() } })
      })
    }
    const latencies = rounds.get(round) ?? []
    rounds.delete(round)
    return { latencies }
  },
  stats: () => ({ open: held.filter((h) => h.socket.readyState === WebSocket.OPEN).length, closeCodes: Object.fromEntries(closeCodes) }),
  close: () => {
    for (const h of held.splice(0)) h.socket.terminate()
    return {}
  }
}, async () => { for (const h of held.splice(0)) h.socket.terminate() })

process.send?.({ type: 'ready' })
