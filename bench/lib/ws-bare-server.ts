// Child process: the baseline, a bare `ws` server doing the same job as Backplane's realtime
// socket with nothing else: it accepts any socket offering `bearer` (no token check), answers
// `subscribe` with `subscribed`, and on `publish` sends one event, serialised once, to every subscriber.
import { randomUUID } from 'node:crypto'
import { WebSocketServer, type WebSocket } from 'ws'
import { serveRpc } from './ws-rpc.ts'

const subscribers = new Map<string, Set<WebSocket>>()
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.env.BENCH_WS_PORT ?? 0),
  perMessageDeflate: false,
  maxPayload: 64 * 1024,
  handleProtocols: (protocols) => protocols.has('bearer') ? 'bearer' : false
})
let sockets = 0

wss.on('connection', (socket) => {
  sockets++
  const mine = new Set<string>()
  socket.send(JSON.stringify({ type: 'ready', expiresAt: null, limits: {} }))
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { type?: string, channel?: string }
    if (message.type !== 'subscribe' || typeof message.channel !== 'string') return
    let set = subscribers.get(message.channel)
    if (!set) subscribers.set(message.channel, (set = new Set()))
    set.add(socket)
    mine.add(message.channel)
    socket.send(JSON.stringify({ type: 'subscribed', channel: message.channel }))
  })
  socket.on('close', () => {
    sockets--
    for (const channel of mine) subscribers.get(channel)?.delete(socket)
  })
})

wss.once('listening', () => {
  const address = wss.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.send?.({ type: 'ready', port, url: `ws://127.0.0.1:${port}/` })
})

serveRpc({
  publish: (req) => {
    const sentAt = Date.now()
    const channel = `project:${String(req.projectId)}`
    const text = JSON.stringify({ type: 'event', channel, id: randomUUID(), event: 'bench.ping', data: { sentAt, round: Number(req.round) }, at: new Date(sentAt).toISOString() })
    for (const socket of subscribers.get(channel) ?? []) socket.send(text)
    return { sentAt, committedAt: sentAt, relayedAt: Date.now() }
  },
  stats: () => ({ sockets, memory: process.memoryUsage() }),
  gc: () => { globalThis.gc?.(); return { gc: typeof globalThis.gc === 'function' } }
}, async () => {
  for (const client of wss.clients) client.terminate()
  await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
})
